import SystemCalls

/// Starts child processes. The seam that lets tests run the whole request path without a real CLI.
public protocol ProcessLauncher: Sendable {
    func launch(_ spec: ProcessSpec) throws(SystemError) -> any ChildProcess
    /// SIGKILLs every child this launcher started that is still alive: the last step of a shutdown.
    func killAll()
}
