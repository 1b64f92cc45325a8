import Synchronization

/// Per-key limits, checked next to the CLI slots for every turn (`TurnAdmission.withSlot`): model turns in flight
/// (`max_concurrent`, refused at once, never queued) and model-turn requests a minute (`rpm`, a token bucket of
/// capacity `rpm` refilled at `rpm`/60 a second). Usage is kept by key name, so a reload that changes a key's limits
/// keeps what it has used, and a stream that outlives its key's revocation still gives its place back.
public final class KeyLimiter: Sendable {
    private struct Usage: Sendable {
        var inFlight = 0
        var bucket: TokenBucket?
    }

    public enum Admission {
        case admitted(KeyPass)
        case refused(APIError)
    }

    /// Limits for keys without their own (`CCA_KEY_DEFAULT_MAX_CONCURRENT`, `CCA_KEY_DEFAULT_RPM`).
    public let defaults: KeyLimits
    private let clock: any MonotonicClock
    private let usage = Mutex<[String: Usage]>([:])

    public init(defaults: KeyLimits, clock: any MonotonicClock) {
        self.defaults = defaults
        self.clock = clock
    }

    /// Counts one turn for `key`, or says why it may not start now.
    public func admit(_ key: APIKey) -> Admission {
        let limits = key.limits.orDefaults(defaults)
        let now = clock.now()
        return usage.withLock { table in
            var entry = table[key.name] ?? Usage()
            var state: RateLimitState?
            if let rpm = limits.requestsPerMinute {
                var bucket = entry.bucket ?? TokenBucket(capacity: rpm, now: now)
                bucket.resize(capacity: rpm, now: now)
                entry.bucket = bucket
                state = Self.state(of: bucket, now: now)
            } else {
                entry.bucket = nil
            }
            if let maximum = limits.maxConcurrent, entry.inFlight >= maximum {
                table[key.name] = entry
                return .refused(.perKeyConcurrency(limit: maximum, rateLimit: state))
            }
            if var bucket = entry.bucket {
                guard bucket.take(now: now) else {
                    table[key.name] = entry
                    let wait = Int((bucket.nanosecondsUntilNextToken(now: now) + 999_999_999) / 1_000_000_000)
                    return .refused(.keyRateLimited(rpm: bucket.capacity, retryAfterSeconds: max(1, wait),
                                                    rateLimit: Self.state(of: bucket, now: now)))
                }
                entry.bucket = bucket
                state = Self.state(of: bucket, now: now)
            }
            entry.inFlight += 1
            table[key.name] = entry
            return .admitted(KeyPass(name: key.name, limiter: self, rateLimit: state))
        }
    }

    /// Turns in flight for a key name right now.
    public func inFlight(_ name: String) -> Int {
        usage.withLock { $0[name]?.inFlight ?? 0 }
    }

    func release(_ name: String, givingBackToken: Bool) {
        let now = clock.now()
        usage.withLock { table in
            guard var entry = table[name] else { return }
            entry.inFlight -= 1
            if givingBackToken { entry.bucket?.giveBack(now: now) }
            // An idle key without a bucket is the same as one never seen: no entry kept.
            table[name] = entry.inFlight == 0 && entry.bucket == nil ? nil : entry
        }
    }

    private static func state(of bucket: TokenBucket, now: UInt64) -> RateLimitState {
        RateLimitState(limit: bucket.capacity, remaining: bucket.available(now: now),
                       resetNanoseconds: bucket.nanosecondsUntilFull(now: now))
    }
}
