import Foundation
import Synchronization
import Testing
import SystemCalls

@Suite("ConditionLock and SystemThread: the service's own threads and waits")
struct ConditionLockTests {
    @Test("a timed wait that nothing ends returns false, and not before its deadline")
    func timedWaitTimesOut() {
        let lock = ConditionLock()
        let deadline = Syscalls.monotonicNanoseconds() + 50_000_000
        lock.lock()
        // A spurious wake-up returns true early; the next wait goes on to the deadline, as every caller's loop does.
        var timedOut = false
        for _ in 0..<1_000 where !timedOut { timedOut = !lock.wait(untilMonotonicNanoseconds: deadline) }
        lock.unlock()
        #expect(timedOut)
        #expect(Syscalls.monotonicNanoseconds() >= deadline)
        #expect(lock.withLock { lock.wait(seconds: 0) } == false)
        #expect(lock.withLock { lock.wait(seconds: -1) } == false)
    }

    @Test("a broadcast wakes a thread waiting for the change, and it sees it")
    func broadcastWakesWaiter() {
        final class Box: @unchecked Sendable { var ready = false; var seen = false }
        let lock = ConditionLock()
        let box = Box()
        let done = Atomic<Bool>(false)
        SystemThread.start(name: "test-waiter") {
            lock.lock()
            while !box.ready { lock.wait() }
            box.seen = true
            lock.unlock()
            done.store(true, ordering: .releasing)
        }
        lock.withLock {
            box.ready = true
            lock.broadcast()
        }
        #expect(waitUntil(seconds: 10) { done.load(ordering: .acquiring) })
        #expect(lock.withLock { box.seen })
    }

    @Test("a thread runs under its name, cut to the 15 bytes the kernel keeps")
    func threadName() throws {
        let name = Mutex<String?>(nil)
        SystemThread.start(name: "cca-a-very-long-thread-name", stackBytes: 64 << 10) {
            let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            name.withLock { $0 = comm ?? "" }
        }
        #expect(waitUntil(seconds: 10) { name.withLock { $0 != nil } })
        #expect(name.withLock { $0 } == "cca-a-very-long\n")
    }
}
