import Glibc
import Synchronization
import SystemCalls

/// Frees workers stuck reading a request. libfcgi reads a request's records with blocking `read()`s and no timeout,
/// so a peer that sends half a request and waits would hold a worker for as long as it likes. Each worker says when it
/// starts and stops reading a request; a worker still reading after the timeout gets SIGUSR2, whose handler (installed
/// without SA_RESTART) makes that `read()` fail with EINTR, and libfcgi then drops the connection.
/// nginx sends a whole request at once (`fastcgi_request_buffering on`), so only a hostile direct peer is affected.
final class ReadWatchdog: Sendable {
    static let interruptSignal = SIGUSR2
    static let checkIntervalMilliseconds = 250

    private struct Slot {
        var thread: pthread_t?
        var readingSince: UInt64 = 0
    }

    private struct State {
        var slots: [Slot]
        var stopped = false
    }

    private let timeoutNanoseconds: UInt64
    private let onInterrupt: @Sendable (Int) -> Void
    private let state: Mutex<State>

    init(workers: Int, timeoutMilliseconds: Int, onInterrupt: @escaping @Sendable (Int) -> Void) {
        timeoutNanoseconds = UInt64(timeoutMilliseconds) * 1_000_000
        self.onInterrupt = onInterrupt
        state = Mutex(State(slots: Array(repeating: Slot(), count: workers)))
        Syscalls.installInterruptingHandler(Self.interruptSignal)
    }

    /// Called by worker `index` on its own thread, once.
    func register(worker index: Int) {
        let thread = Syscalls.currentThread()
        state.withLock { $0.slots[index].thread = thread }
    }

    func startedReading(worker index: Int) {
        let now = Syscalls.monotonicNanoseconds()
        state.withLock { $0.slots[index].readingSince = now }
    }

    func stoppedReading(worker index: Int) {
        state.withLock { $0.slots[index].readingSince = 0 }
    }

    func start() {
        SystemThread.start(name: "fcgi-read-watchdog", stackBytes: 256 << 10) { [self] in
            while true {
                Syscalls.sleep(milliseconds: Self.checkIntervalMilliseconds)
                let now = Syscalls.monotonicNanoseconds()
                let stuck: [(Int, pthread_t)]? = state.withLock { state in
                    if state.stopped { return nil }
                    return state.slots.enumerated().compactMap { index, slot in
                        guard slot.readingSince != 0, now - slot.readingSince > timeoutNanoseconds, let thread = slot.thread else { return nil }
                        return (index, thread)
                    }
                }
                guard let stuck else { return }
                for (index, thread) in stuck {
                    Syscalls.signalThread(thread, Self.interruptSignal)
                    onInterrupt(index)
                }
            }
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }
}
