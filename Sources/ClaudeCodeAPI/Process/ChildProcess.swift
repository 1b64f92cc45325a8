/// A running child process, seen through its three pipes. Implementations own their descriptors.
/// How a child is ended (wait, signal, kill) is `TeardownSequence`'s business, the same for every caller.
public protocol ChildProcess: AnyObject {
    /// Process id, when the child is a real process.
    var pid: Int32? { get }
    /// Our (non-blocking) write end of the child's stdin, or -1 once closed.
    var standardInput: Int32 { get }
    /// Our (non-blocking) read end of the child's stdout, or -1 once reaped.
    var standardOutput: Int32 { get }
    /// Our (non-blocking) read end of the child's stderr, or -1 once reaped.
    var standardError: Int32 { get }

    func closeStandardInput()
    /// Whether the child has exited (without reaping it).
    func hasExited() -> Bool
    /// Sends `signal` to the child's whole process group (the child and everything it started).
    func signalGroup(_ signal: Int32)
    /// Waits for the child to exit, reaps it and closes the pipes. Safe to call more than once.
    func reap() -> ProcessExit
}
