import Testing
import HTTPCore
@testable import ClaudeCodeAPI

@Suite("Per-key limits: max_concurrent refused at once, rpm as a token bucket, other keys untouched")
struct APIKeyLimitsTests {
    let clock = ManualClock()

    func key(_ name: String, maxConcurrent: Int? = nil, rpm: Int? = nil) -> APIKey {
        APIKey(name: name, digest: APIKeyDigest(of: "sk-\(name)"), limits: KeyLimits(maxConcurrent: maxConcurrent, requestsPerMinute: rpm))
    }

    func pass(_ admission: KeyLimiter.Admission) -> KeyPass? {
        if case .admitted(let pass) = admission { return pass }
        return nil
    }

    func error(_ admission: KeyLimiter.Admission) -> APIError? {
        if case .refused(let error) = admission { return error }
        return nil
    }

    func header(_ error: APIError?, _ name: String) -> String? {
        error?.headers.first { $0.name == name }?.value
    }

    @Test("one turn over max_concurrent is a 429 per_key_concurrency with Retry-After; another key still gets in")
    func concurrency() throws {
        let limiter = KeyLimiter(defaults: KeyLimits(), clock: clock)
        let alice = key("alice", maxConcurrent: 2)
        let first = try #require(pass(limiter.admit(alice)))
        _ = try #require(pass(limiter.admit(alice)))
        let refused = try #require(error(limiter.admit(alice)))
        #expect(refused.status == 429 && refused.code == .perKeyConcurrency && refused.kind == .rateLimit)
        #expect(refused.retryAfterSeconds == 1)
        #expect(pass(limiter.admit(key("bob", maxConcurrent: 1))) != nil)
        first.release()
        #expect(pass(limiter.admit(alice)) != nil)
        #expect(limiter.inFlight("alice") == 2)
    }

    @Test("rpm: capacity requests at once, then 429 rate_limit_exceeded with Retry-After and x-ratelimit headers")
    func requestsPerMinute() throws {
        let limiter = KeyLimiter(defaults: KeyLimits(), clock: clock)
        let alice = key("alice", rpm: 3)
        let remaining = try (0..<3).map { _ in try #require(pass(limiter.admit(alice))).rateLimit?.remaining }
        #expect(remaining == [2, 1, 0])
        let refused = try #require(error(limiter.admit(alice)))
        #expect(refused.status == 429 && refused.code == .rateLimitExceeded)
        #expect(refused.retryAfterSeconds == 20)  // one token every 20 s
        #expect(header(refused, "x-ratelimit-limit-requests") == "3")
        #expect(header(refused, "x-ratelimit-remaining-requests") == "0")
        #expect(header(refused, "x-ratelimit-reset-requests") == "1m0s")
        clock.advance(seconds: 20)
        #expect(pass(limiter.admit(alice))?.rateLimit == RateLimitState(limit: 3, remaining: 0, resetNanoseconds: 60_000_000_000))
    }

    @Test("a refused request spends no token; a turn that never started gives its token back")
    func refusalsCostNothing() throws {
        let limiter = KeyLimiter(defaults: KeyLimits(), clock: clock)
        let alice = key("alice", maxConcurrent: 1, rpm: 2)
        let running = try #require(pass(limiter.admit(alice)))
        #expect(error(limiter.admit(alice))?.code == .perKeyConcurrency)
        running.release()
        let second = try #require(pass(limiter.admit(alice)))
        #expect(second.rateLimit?.remaining == 0)
        second.giveBack()
        #expect(try #require(pass(limiter.admit(alice))).rateLimit?.remaining == 0)
    }

    @Test("keys without limits of their own get CCA_KEY_DEFAULT_*; their own values win")
    func defaults() throws {
        let limiter = KeyLimiter(defaults: KeyLimits(maxConcurrent: 1, requestsPerMinute: 100), clock: clock)
        _ = try #require(pass(limiter.admit(key("plain"))))
        #expect(error(limiter.admit(key("plain")))?.code == .perKeyConcurrency)
        let own = key("own", maxConcurrent: 5, rpm: 1)
        _ = try #require(pass(limiter.admit(own)))
        #expect(error(limiter.admit(own))?.code == .rateLimitExceeded)
    }

    @Test("no limits at all: every turn is admitted, without rate-limit headers")
    func unlimited() throws {
        let limiter = KeyLimiter(defaults: KeyLimits(), clock: clock)
        for _ in 0..<1_000 { #expect(try #require(pass(limiter.admit(key("free")))).rateLimit == nil) }
    }

    @Test("a reload that changes a key's rpm keeps what the key has used this minute")
    func limitsChangeKeepsUsage() throws {
        let limiter = KeyLimiter(defaults: KeyLimits(), clock: clock)
        for _ in 0..<5 { _ = try #require(pass(limiter.admit(key("alice", rpm: 10)))) }
        #expect(try #require(pass(limiter.admit(key("alice", rpm: 8)))).rateLimit?.remaining == 2)
        #expect(error(limiter.admit(key("alice", rpm: 6)))?.code == .rateLimitExceeded)
    }
}

@Suite("Failed key checks per client address: 10 a minute, then 429 without looking at the key")
struct FailedAuthLimiterTests {
    let clock = ManualClock()

    @Test("ten failures are allowed; then the address waits until a token refills (6 s)")
    func tenThenBlocked() {
        let limiter = FailedAuthLimiter(clock: clock)
        for _ in 0..<10 {
            #expect(limiter.retryAfterSeconds(for: "203.0.113.9") == nil)
            limiter.recordFailure(from: "203.0.113.9")
        }
        #expect(limiter.retryAfterSeconds(for: "203.0.113.9") == 6)
        #expect(limiter.retryAfterSeconds(for: "203.0.113.10") == nil)
        clock.advance(seconds: 5.5)
        #expect(limiter.retryAfterSeconds(for: "203.0.113.9") == 1)
        clock.advance(seconds: 0.5)
        #expect(limiter.retryAfterSeconds(for: "203.0.113.9") == nil)
        limiter.recordFailure(from: "203.0.113.9")
        #expect(limiter.retryAfterSeconds(for: "203.0.113.9") == 6)
    }

    @Test("memory is bounded: at most maximumAddresses buckets, and a blocked address stays blocked")
    func bounded() {
        let limiter = FailedAuthLimiter(attemptsPerMinute: 2, maximumAddresses: 100, clock: clock)
        limiter.recordFailure(from: "attacker")
        limiter.recordFailure(from: "attacker")
        for index in 0..<10_000 { limiter.recordFailure(from: "10.0.\(index / 256).\(index % 256)") }
        #expect(limiter.trackedAddresses <= 100)
        #expect(limiter.retryAfterSeconds(for: "attacker") != nil)
    }

    @Test("buckets that refilled completely are dropped first, losing nothing")
    func fullBucketsGoFirst() {
        let limiter = FailedAuthLimiter(attemptsPerMinute: 10, maximumAddresses: 3, clock: clock)
        for address in ["a", "b", "c"] { limiter.recordFailure(from: address) }
        clock.advance(seconds: 60)
        limiter.recordFailure(from: "d")
        #expect(limiter.trackedAddresses == 1)
    }
}
