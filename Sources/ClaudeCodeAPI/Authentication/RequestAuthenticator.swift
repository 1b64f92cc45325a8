import HTTPCore

/// Who is calling: with a key store, a request must present one of its keys (`PresentedCredentials`); without one the
/// service is open. An address with too many failed attempts is refused before its key is looked at.
public struct RequestAuthenticator: Sendable {
    public enum Verdict {
        /// No key file: everyone is served.
        case open
        case key(APIKey)
        case refused(APIError)
    }

    /// nil: keys are off (`CCA_API_KEYS_FILE` unset).
    public let keys: APIKeyStore?
    public let failures: FailedAuthLimiter

    public init(keys: APIKeyStore?, failures: FailedAuthLimiter) {
        self.keys = keys
        self.failures = failures
    }

    public func check(_ request: HTTPRequest) -> Verdict {
        guard let keys else { return .open }
        let address = request.remoteAddress ?? ""
        if let wait = failures.retryAfterSeconds(for: address) {
            return .refused(.tooManyFailedAuthentications(retryAfterSeconds: wait))
        }
        let presented = PresentedCredentials(headers: request.headers)
        for candidate in presented.candidates {
            if let key = keys.key(matching: candidate) { return .key(key) }
        }
        failures.recordFailure(from: address)
        return .refused(presented.sentAny ? .invalidAPIKey() : .missingAPIKey())
    }
}
