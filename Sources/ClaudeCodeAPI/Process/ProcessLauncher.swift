import SystemCalls

/// Starts child processes. The seam that lets tests run the whole request path without a real CLI.
public protocol ProcessLauncher: Sendable {
    func launch(_ spec: ProcessSpec) throws(SystemError) -> any ChildProcess
    /// SIGKILLs every child this launcher started that is still alive: the last step of a shutdown.
    func killAll()
    /// The process groups of the children started and not yet reaped (for /metrics: CLI processes and their memory).
    var liveProcessGroups: Set<Int32> { get }
}

extension ProcessLauncher {
    /// A launcher whose children are not processes of their own (a test double) has no groups to report.
    public var liveProcessGroups: Set<Int32> { [] }
}
