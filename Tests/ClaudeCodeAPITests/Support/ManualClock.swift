import Synchronization
@testable import ClaudeCodeAPI

/// A clock that moves only when the test says so: token buckets and other time-based limits tested without sleeping.
final class ManualClock: MonotonicClock {
    private let nanoseconds: Mutex<UInt64>

    init(startingAt start: UInt64 = 1_000_000_000_000) { nanoseconds = Mutex(start) }

    func now() -> UInt64 { nanoseconds.withLock { $0 } }

    func advance(seconds: Double) {
        nanoseconds.withLock { $0 += UInt64(seconds * 1_000_000_000) }
    }

    func advance(nanoseconds delta: UInt64) {
        nanoseconds.withLock { $0 += delta }
    }
}
