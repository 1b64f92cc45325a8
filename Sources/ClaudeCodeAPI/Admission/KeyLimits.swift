/// What one key may use: model turns in flight at once, and model-turn requests a minute. nil is "no limit of its own".
public struct KeyLimits: Sendable, Equatable {
    public var maxConcurrent: Int?
    public var requestsPerMinute: Int?

    public init(maxConcurrent: Int? = nil, requestsPerMinute: Int? = nil) {
        self.maxConcurrent = maxConcurrent
        self.requestsPerMinute = requestsPerMinute
    }

    /// These limits, with `defaults` where this key has none.
    public func orDefaults(_ defaults: KeyLimits) -> KeyLimits {
        KeyLimits(maxConcurrent: maxConcurrent ?? defaults.maxConcurrent,
                  requestsPerMinute: requestsPerMinute ?? defaults.requestsPerMinute)
    }
}
