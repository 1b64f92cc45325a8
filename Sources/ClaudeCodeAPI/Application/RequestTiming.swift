/// How long one request took, and how long until its first token, on the application's monotonic clock.
public struct RequestTiming: Sendable, Equatable {
    public var durationNanoseconds: UInt64
    /// From the request's start until the first text (or reasoning) of the turn reached the encoder.
    public var timeToFirstTokenNanoseconds: UInt64?

    public init(durationNanoseconds: UInt64, timeToFirstTokenNanoseconds: UInt64? = nil) {
        self.durationNanoseconds = durationNanoseconds
        self.timeToFirstTokenNanoseconds = timeToFirstTokenNanoseconds
    }

    /// The timing of a request that started at `start` and ended at `end`, with the outcome's first token.
    public init(start: UInt64, end: UInt64, outcome: RequestOutcome) {
        durationNanoseconds = end - start
        timeToFirstTokenNanoseconds = outcome.firstTokenAt.map { $0 >= start ? $0 - start : 0 }
    }
}
