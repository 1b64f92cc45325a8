import Testing
@testable import ClaudeCodeAPI

@Suite("Token bucket: capacity N, refilled at N a minute, on an injected clock")
struct TokenBucketTests {
    let clock = ManualClock()

    /// `take`, outside the `#expect` macro (which cannot mutate its operand).
    func take(_ bucket: inout TokenBucket, at now: UInt64) -> Bool { bucket.take(now: now) }

    @Test("a new bucket holds its capacity, and refuses once it is spent")
    func startsFullThenRefuses() {
        var bucket = TokenBucket(capacity: 3, now: clock.now())
        #expect(bucket.available(now: clock.now()) == 3)
        for _ in 0..<3 { #expect(take(&bucket, at: clock.now())) }
        #expect(!take(&bucket, at: clock.now()))
        #expect(bucket.available(now: clock.now()) == 0)
    }

    @Test("one token comes back every 60/N seconds, not before")
    func refillsAtTheRate() {
        var bucket = TokenBucket(capacity: 6, now: clock.now())  // one token every 10 s
        for _ in 0..<6 { _ = bucket.take(now: clock.now()) }
        clock.advance(seconds: 9.999)
        #expect(!take(&bucket, at: clock.now()))
        clock.advance(seconds: 0.001)
        #expect(take(&bucket, at: clock.now()))
        #expect(!take(&bucket, at: clock.now()))
    }

    @Test("it says how long until the next token and until it is full again")
    func waits() {
        var bucket = TokenBucket(capacity: 6, now: clock.now())
        #expect(bucket.nanosecondsUntilNextToken(now: clock.now()) == 0)
        #expect(bucket.nanosecondsUntilFull(now: clock.now()) == 0)
        for _ in 0..<6 { _ = bucket.take(now: clock.now()) }
        #expect(bucket.nanosecondsUntilNextToken(now: clock.now()) == 10_000_000_000)
        #expect(bucket.nanosecondsUntilFull(now: clock.now()) == 60_000_000_000)
        clock.advance(seconds: 4)
        #expect(bucket.nanosecondsUntilNextToken(now: clock.now()) == 6_000_000_000)
        #expect(bucket.nanosecondsUntilFull(now: clock.now()) == 56_000_000_000)
    }

    @Test("refill stops at capacity, however long the bucket is left alone")
    func neverAboveCapacity() {
        var bucket = TokenBucket(capacity: 2, now: clock.now())
        _ = bucket.take(now: clock.now())
        clock.advance(seconds: 86_400 * 365)
        #expect(bucket.available(now: clock.now()) == 2)
        bucket.giveBack(now: clock.now())
        #expect(bucket.available(now: clock.now()) == 2)
    }

    @Test("a token given back can be taken again")
    func giveBack() {
        var bucket = TokenBucket(capacity: 1, now: clock.now())
        #expect(take(&bucket, at: clock.now()))
        bucket.giveBack(now: clock.now())
        #expect(take(&bucket, at: clock.now()))
    }

    @Test("a new capacity keeps the tokens already used")
    func resizeKeepsUsage() {
        var bucket = TokenBucket(capacity: 60, now: clock.now())
        for _ in 0..<10 { _ = bucket.take(now: clock.now()) }
        bucket.resize(capacity: 100, now: clock.now())
        #expect(bucket.available(now: clock.now()) == 90)
        bucket.resize(capacity: 5, now: clock.now())
        #expect(bucket.available(now: clock.now()) == 0)
        #expect(!take(&bucket, at: clock.now()))
    }

    @Test("a clock reading earlier than the last one adds nothing")
    func earlierTimeAddsNothing() {
        var bucket = TokenBucket(capacity: 1, now: clock.now())
        _ = bucket.take(now: clock.now())
        #expect(!take(&bucket, at: clock.now() - 30_000_000_000))
        #expect(bucket.available(now: clock.now()) == 0)
    }

    @Test("the OpenAI duration format of x-ratelimit-reset-requests",
          arguments: [(0, "0s"), (1, "1ms"), (250_000_000, "250ms"), (1_000_000_000, "1s"), (1_500_000_000, "1.5s"),
                      (90_000_000_000, "1m30s"), (360_000_000_000, "6m0s"), (3_600_000_000_000, "1h0m0s"), (10_050_000_000, "10.05s")]
              as [(UInt64, String)])
    func durationFormat(_ nanoseconds: UInt64, _ text: String) {
        #expect(RateLimitState.duration(nanoseconds) == text)
    }
}
