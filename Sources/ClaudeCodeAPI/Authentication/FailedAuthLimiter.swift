import Synchronization

/// Failed key checks per client address (`REMOTE_ADDR`): `attemptsPerMinute` of them, then the address gets 429 without
/// its key being looked at, until the bucket refills (one attempt every 60/`attemptsPerMinute` s). Keys cannot be
/// guessed at line speed. Memory is bounded: at most `maximumAddresses` buckets. When the table is full, buckets that
/// have refilled (the same as none) go first, then those of addresses not blocked, and only when every address in it
/// is blocked one of those; so room is made in batches, and a blocked address stays blocked.
public final class FailedAuthLimiter: Sendable {
    public let attemptsPerMinute: Int
    public let maximumAddresses: Int
    private let clock: any MonotonicClock
    private let buckets = Mutex<[String: TokenBucket]>([:])

    public init(attemptsPerMinute: Int = 10, maximumAddresses: Int = 10_000, clock: any MonotonicClock) {
        precondition(attemptsPerMinute >= 1 && maximumAddresses >= 1)
        self.attemptsPerMinute = attemptsPerMinute
        self.maximumAddresses = maximumAddresses
        self.clock = clock
    }

    /// nil when `address` may try a key now; else the seconds until it may.
    public func retryAfterSeconds(for address: String) -> Int? {
        let now = clock.now()
        return buckets.withLock { table in
            guard let bucket = table[address] else { return nil }
            let wait = bucket.nanosecondsUntilNextToken(now: now)
            return wait == 0 ? nil : max(1, Int((wait + 999_999_999) / 1_000_000_000))
        }
    }

    /// Counts one failed attempt from `address`.
    public func recordFailure(from address: String) {
        let now = clock.now()
        buckets.withLock { table in
            if table[address] == nil && table.count >= maximumAddresses { makeRoom(in: &table, now: now) }
            var bucket = table[address] ?? TokenBucket(capacity: attemptsPerMinute, now: now)
            _ = bucket.take(now: now)
            table[address] = bucket
        }
    }

    /// Addresses with a bucket right now.
    public var trackedAddresses: Int { buckets.withLock { $0.count } }

    private func makeRoom(in table: inout [String: TokenBucket], now: UInt64) {
        table = table.filter { $0.value.available(now: now) < attemptsPerMinute }
        if table.count >= maximumAddresses { table = table.filter { $0.value.available(now: now) == 0 } }
        if table.count >= maximumAddresses, let any = table.keys.first { table[any] = nil }
    }
}
