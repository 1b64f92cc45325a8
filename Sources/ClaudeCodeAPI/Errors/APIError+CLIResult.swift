/// How a failed CLI turn becomes an `APIError`.
extension APIError {
    /// Maps a `result` event with `is_error: true`. `lastRetry` is the last `api_retry` seen, for Retry-After.
    /// The CLI's own text (e.g. "Invalid API key · Fix external API key") is kept as the message's detail,
    /// never sent as an assistant answer.
    public static func fromFailedTurn(_ result: CLIResult, lastRetry: CLIRetry?) -> APIError {
        let detail = LogRedaction.redact((result.text?.isEmpty == false ? result.text! : result.terminalReason) ?? "unknown error")
        let retryAfter = lastRetry?.delayMilliseconds.map { max(1, ($0 + 999) / 1000) }
        let status = result.apiErrorStatus ?? lastRetry?.errorStatus
        switch status {
        case 401?, 403?:
            return APIError(status: 502, kind: .upstream,
                            message: "The server's Claude credentials were rejected by the Anthropic API (HTTP \(status!)): \(detail). This is a server configuration problem, not your API key.",
                            code: .upstreamAuthenticationFailed)
        case 400?:
            return APIError(status: 400, kind: .invalidRequest, message: "The Anthropic API rejected the request: \(detail)",
                            code: result.apiErrorType.map(Code.init(rawValue:)) ?? .upstreamInvalidRequest)
        case 404?:
            return APIError(status: 404, kind: .notFound, message: "The Anthropic API does not know the model: \(detail)",
                            param: "model", code: .modelNotFound)
        case 413?:
            return APIError(status: 413, kind: .requestTooLarge, message: "The request is too large for the Anthropic API: \(detail)",
                            code: .requestTooLarge)
        case 429?:
            return APIError(status: 429, kind: .rateLimit, message: "The Anthropic API rate limit was reached: \(detail)",
                            code: .rateLimitExceeded, retryAfterSeconds: retryAfter ?? 1)
        case 529?, 503?:
            return APIError(status: 503, kind: .unavailable, message: "The Anthropic API is overloaded: \(detail)",
                            code: .upstreamOverloaded, retryAfterSeconds: retryAfter ?? 1)
        case let status?:
            return APIError(status: 502, kind: .upstream, message: "The Anthropic API failed (HTTP \(status)): \(detail)",
                            code: .upstreamError)
        case nil:
            if detail.localizedCaseInsensitiveContainsNotLoggedIn {
                return APIError(status: 502, kind: .upstream,
                                message: "The server has no Claude credentials configured: \(detail). This is a server configuration problem.",
                                code: .upstreamCredentialsMissing)
            }
            return APIError(status: 502, kind: .upstream, message: "The Claude CLI turn failed: \(detail)", code: .upstreamError)
        }
    }
}

extension String {
    fileprivate var localizedCaseInsensitiveContainsNotLoggedIn: Bool {
        lowercased().contains("not logged in") || lowercased().contains("/login")
    }
}
