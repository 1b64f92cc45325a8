/// One admitted turn's hold on its key's limits. `release` when the turn is over; `giveBack` when it never started
/// (the service was busy, the client left), which also returns the request's token.
public struct KeyPass: Sendable {
    public let name: String
    let limiter: KeyLimiter
    /// The key's rate-limit standing after this request, when it has an `rpm`.
    public let rateLimit: RateLimitState?

    public func release() { limiter.release(name, givingBackToken: false) }
    public func giveBack() { limiter.release(name, givingBackToken: true) }
}
