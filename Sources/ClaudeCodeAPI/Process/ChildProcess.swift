/// A running child process, seen through its three pipes. Implementations own their descriptors.
public protocol ChildProcess: AnyObject {
    /// Process id, when the child is a real process.
    var pid: Int32? { get }
    /// Our (non-blocking) write end of the child's stdin, or -1 once closed.
    var standardInput: Int32 { get }
    /// Our (non-blocking) read end of the child's stdout.
    var standardOutput: Int32 { get }
    /// Our (non-blocking) read end of the child's stderr.
    var standardError: Int32 { get }

    func closeStandardInput()
    /// Whether the child has exited (without reaping it).
    func hasExited() -> Bool
    /// Ends the child and everything in its process group: SIGTERM, up to `graceMilliseconds`, then SIGKILL.
    /// Reaps the child and closes the pipes. Safe to call more than once; returns the wait status.
    @discardableResult
    func terminate(graceMilliseconds: Int) -> Int32
}

/// Starts child processes. The seam that lets tests run the whole request path without a real CLI.
public protocol ProcessLauncher: Sendable {
    func launch(_ spec: ProcessSpec) throws -> any ChildProcess
}

extension ChildProcess {
    /// Waits up to `timeoutMilliseconds` for the child to exit by itself, then ends it (see `terminate`).
    /// Returns the wait status.
    @discardableResult
    public func finish(waitingMilliseconds timeoutMilliseconds: Int, graceMilliseconds: Int) -> Int32 {
        var waited = 0
        while waited < timeoutMilliseconds && !hasExited() {
            Syscalls.sleep(milliseconds: 2)
            waited += 2
        }
        return terminate(graceMilliseconds: graceMilliseconds)
    }
}
