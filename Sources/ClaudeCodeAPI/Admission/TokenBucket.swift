/// A token bucket: at most `capacity` tokens, refilled continuously at `capacity` tokens per `period`; it starts full.
/// Times are monotonic nanoseconds read by the owner from its injected `MonotonicClock`. Integer arithmetic
/// throughout (one token is `period` units of level), so the same times always give the same answers.
public struct TokenBucket: Sendable, Equatable {
    public private(set) var capacity: Int
    public let periodNanoseconds: UInt64
    /// Tokens times `periodNanoseconds`: refill adds `capacity` per elapsed nanosecond.
    private var level: UInt64
    private var updatedAt: UInt64

    public init(capacity: Int, periodNanoseconds: UInt64 = 60_000_000_000, now: UInt64) {
        precondition(capacity >= 1 && periodNanoseconds >= 1)
        self.capacity = capacity
        self.periodNanoseconds = periodNanoseconds
        level = UInt64(capacity) * periodNanoseconds
        updatedAt = now
    }

    private var fullLevel: UInt64 { UInt64(capacity) * periodNanoseconds }

    private mutating func refill(now: UInt64) {
        guard now > updatedAt else { return }
        // More than a period refills the bucket whatever its level; the clamp also keeps the product in range.
        let elapsed = min(now - updatedAt, periodNanoseconds)
        level = min(fullLevel, level + elapsed * UInt64(capacity))
        updatedAt = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: UInt64) -> Bool {
        refill(now: now)
        guard level >= periodNanoseconds else { return false }
        level -= periodNanoseconds
        return true
    }

    /// Puts back a token taken for a request that never ran (never above capacity).
    public mutating func giveBack(now: UInt64) {
        refill(now: now)
        level = min(fullLevel, level + periodNanoseconds)
    }

    /// Whole tokens left.
    public func available(now: UInt64) -> Int {
        var copy = self
        copy.refill(now: now)
        return Int(copy.level / periodNanoseconds)
    }

    /// Time until one token is there (0 when one is).
    public func nanosecondsUntilNextToken(now: UInt64) -> UInt64 {
        var copy = self
        copy.refill(now: now)
        guard copy.level < periodNanoseconds else { return 0 }
        return Self.divideRoundingUp(periodNanoseconds - copy.level, UInt64(capacity))
    }

    /// Time until the bucket is full again (OpenAI's `x-ratelimit-reset-requests`).
    public func nanosecondsUntilFull(now: UInt64) -> UInt64 {
        var copy = self
        copy.refill(now: now)
        return Self.divideRoundingUp(copy.fullLevel - copy.level, UInt64(capacity))
    }

    /// A new capacity (the key file changed), keeping the tokens used so far: a key that spent 10 of 60 has 50 of
    /// its new limit left, or none at a limit of 10.
    public mutating func resize(capacity newCapacity: Int, now: UInt64) {
        precondition(newCapacity >= 1)
        guard newCapacity != capacity else { return }
        refill(now: now)
        let used = fullLevel - level
        capacity = newCapacity
        level = fullLevel > used ? fullLevel - used : 0
    }

    private static func divideRoundingUp(_ a: UInt64, _ b: UInt64) -> UInt64 { a / b + (a % b == 0 ? 0 : 1) }
}
