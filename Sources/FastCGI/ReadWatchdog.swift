import ClaudeCodeAPI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Frees workers stuck reading a request. libfcgi reads a request's records with blocking `read()`s and no timeout,
/// so a peer that sends half a request and waits would hold a worker for as long as it likes. Each worker says when it
/// starts and stops reading a request; a worker still reading after the timeout gets SIGUSR2, whose handler (installed
/// without SA_RESTART) makes that `read()` fail with EINTR, and libfcgi then drops the connection.
/// nginx sends a whole request at once (`fastcgi_request_buffering on`), so only a hostile direct peer is affected.
final class ReadWatchdog: @unchecked Sendable {
    static let interruptSignal = SIGUSR2

    private struct Slot {
        var thread: pthread_t?
        var readingSince: UInt64 = 0
    }

    private let timeoutNanoseconds: UInt64
    private let onInterrupt: @Sendable (Int) -> Void
    private let lock = NSLock()
    private var slots: [Slot]
    private var stopped = false

    init(workers: Int, timeoutMilliseconds: Int, onInterrupt: @escaping @Sendable (Int) -> Void) {
        timeoutNanoseconds = UInt64(timeoutMilliseconds) * 1_000_000
        self.onInterrupt = onInterrupt
        slots = Array(repeating: Slot(), count: workers)
        Self.installInterruptHandler()
    }

    /// Called by worker `index` on its own thread, once.
    func register(worker index: Int) {
        lock.lock(); slots[index].thread = pthread_self(); lock.unlock()
    }

    func startedReading(worker index: Int) {
        let now = Syscalls.monotonicNanoseconds()
        lock.lock(); slots[index].readingSince = now; lock.unlock()
    }

    func stoppedReading(worker index: Int) {
        lock.lock(); slots[index].readingSince = 0; lock.unlock()
    }

    func start() {
        let thread = Thread { [self] in
            while true {
                Syscalls.sleep(milliseconds: 250)
                let now = Syscalls.monotonicNanoseconds()
                lock.lock()
                if stopped { lock.unlock(); return }
                var stuck: [(Int, pthread_t)] = []
                for (index, slot) in slots.enumerated() {
                    if slot.readingSince != 0, now - slot.readingSince > timeoutNanoseconds, let thread = slot.thread {
                        stuck.append((index, thread))
                    }
                }
                lock.unlock()
                for (index, thread) in stuck {
                    pthread_kill(thread, Self.interruptSignal)
                    onInterrupt(index)
                }
            }
        }
        thread.name = "fcgi-read-watchdog"
        thread.start()
    }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
    }

    /// A handler that does nothing, so the signal only interrupts the blocked call (no SA_RESTART).
    private static func installInterruptHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(interruptSignal, &action, nil)
    }
}
