#if canImport(Glibc)
import Glibc
#endif
import SystemCalls

/// Takes termination signals away from every thread and delivers them to one waiting place.
/// Call `blockInAllThreads` after `FCGX_Init` (which installs handlers of its own) and before any thread starts.
public struct SignalWaiter: Sendable {
    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT]

    public init() {}

    public func blockInAllThreads() {
        Syscalls.blockSignals(Self.handled)
        // An ignored signal is dropped before sigwait can see it: a shell starts background jobs with SIGINT
        // ignored, and libfcgi installs its own SIGTERM handler. Blocked and default, they all wait for `next()`.
        for signal in Self.handled { Syscalls.setDefaultDisposition(signal) }
        Syscalls.ignore(SIGPIPE)
    }

    /// Blocks until one of the handled signals arrives, and returns it.
    public func next() -> Int32 {
        Syscalls.waitForSignal(Self.handled)
    }
}
