import Synchronization

/// One admitted turn's hold on its key's limits, given back once: `release` when the answer is complete or the turn
/// is over (whichever comes first; later calls do nothing), `giveBack` when it never started (the service was busy,
/// the client left), which also returns the request's token.
public final class KeyPass: Sendable {
    public let name: String
    let limiter: KeyLimiter
    /// The key's rate-limit standing after this request, when it has an `rpm`.
    public let rateLimit: RateLimitState?
    private let held = Mutex(true)

    init(name: String, limiter: KeyLimiter, rateLimit: RateLimitState?) {
        self.name = name
        self.limiter = limiter
        self.rateLimit = rateLimit
    }

    public func release() { end(givingBackToken: false) }
    public func giveBack() { end(givingBackToken: true) }

    private func end(givingBackToken: Bool) {
        guard held.withLock({ held in defer { held = false }; return held }) else { return }
        limiter.release(name, givingBackToken: givingBackToken)
    }
}
