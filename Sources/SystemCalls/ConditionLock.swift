#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable (pthread's), for threads that wait for a state to change: lock, check, `wait`,
/// and `broadcast` after a change. Timed waits run on the monotonic clock, so a change of the wall clock neither ends
/// a wait early nor stretches it. Foundation's `NSCondition` does the same on the wall clock; this one keeps the
/// service off swift-corelibs-foundation (README, "Benchmark": what the responder keeps resident).
public final class ConditionLock: @unchecked Sendable {
    // Heap cells: a pthread object must not move once initialized, which a stored property of a class can.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init")
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { precondition(pthread_mutex_lock(mutex) == 0, "pthread_mutex_lock") }

    public func unlock() { precondition(pthread_mutex_unlock(mutex) == 0, "pthread_mutex_unlock") }

    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Wakes every waiter. Call with the lock held, after the change they wait for.
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Wakes one waiter.
    public func signal() { pthread_cond_signal(condition) }

    /// With the lock held: releases it until woken (or spuriously), then holds it again. Check the state after.
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// `wait()` for at most `seconds` (none when it is zero or less); false once that time has passed.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard seconds > 0 else { return false }
        let nanoseconds = seconds >= 1e9 ? UInt64(1e18) : UInt64(seconds * 1e9)
        return wait(untilMonotonicNanoseconds: Syscalls.monotonicNanoseconds() &+ nanoseconds)
    }

    /// `wait()` until the monotonic clock (`Syscalls.monotonicNanoseconds`) reads `deadline`; false once it has.
    @discardableResult
    public func wait(untilMonotonicNanoseconds deadline: UInt64) -> Bool {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &time) != ETIMEDOUT
    }
}
