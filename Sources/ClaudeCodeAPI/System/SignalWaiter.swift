#if canImport(Glibc)
import Glibc
#endif

/// Takes termination signals away from every thread and delivers them to one waiting place.
/// Call `blockInAllThreads` after `FCGX_Init` (which installs handlers of its own) and before any thread starts.
public struct SignalWaiter: Sendable {
    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT]

    public init() {}

    public func blockInAllThreads() {
        var set = Self.signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // An ignored signal is dropped before sigwait can see it: a shell starts background jobs with SIGINT
        // ignored, and libfcgi installs its own SIGTERM handler. Blocked and default, they all wait for `next()`.
        for signal in Self.handled { Glibc.signal(signal, SIG_DFL) }
        Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks until one of the handled signals arrives, and returns it.
    public func next() -> Int32 {
        var set = Self.signalSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        return set
    }
}
