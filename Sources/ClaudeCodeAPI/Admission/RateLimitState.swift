import HTTPCore

/// Where a key stands against its requests-per-minute limit, as OpenAI reports it on every response:
/// `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` (time until the
/// bucket is full again, in OpenAI's duration format: `1s`, `6m0s`, `250ms`).
public struct RateLimitState: Sendable, Equatable {
    public var limit: Int
    public var remaining: Int
    public var resetNanoseconds: UInt64

    public var headers: [HTTPHeader] {
        [HTTPHeader("x-ratelimit-limit-requests", String(limit)),
         HTTPHeader("x-ratelimit-remaining-requests", String(remaining)),
         HTTPHeader("x-ratelimit-reset-requests", Self.duration(resetNanoseconds))]
    }

    /// OpenAI's (Go's) duration format, to the millisecond: `0s`, `250ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`.
    public static func duration(_ nanoseconds: UInt64) -> String {
        let milliseconds = (nanoseconds + 999_999) / 1_000_000
        if milliseconds == 0 { return "0s" }
        if milliseconds < 1_000 { return "\(milliseconds)ms" }
        let hours = milliseconds / 3_600_000
        let minutes = milliseconds / 60_000 % 60
        let secondsMilliseconds = milliseconds % 60_000
        var seconds = String(secondsMilliseconds / 1_000)
        if secondsMilliseconds % 1_000 != 0 {
            var fraction = String(secondsMilliseconds % 1_000)
            fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            seconds += "." + fraction
        }
        if hours > 0 { return "\(hours)h\(minutes)m\(seconds)s" }
        if minutes > 0 { return "\(minutes)m\(seconds)s" }
        return "\(seconds)s"
    }
}
