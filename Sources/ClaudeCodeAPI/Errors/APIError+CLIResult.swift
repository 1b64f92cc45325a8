/// How a failed CLI turn becomes an `APIError`.
extension APIError {
    /// Maps a `result` event with `is_error: true`. `lastRetry` is the last `api_retry` seen, for Retry-After.
    /// The CLI's own text (e.g. "Invalid API key · Fix external API key") is kept as the message's detail,
    /// never sent as an assistant answer.
    public static func fromFailedTurn(_ result: CLIResult, lastRetry: CLIRetry?) -> APIError {
        let detail = (result.text?.isEmpty == false ? result.text! : result.terminalReason) ?? "unknown error"
        let retryAfter = lastRetry?.delayMilliseconds.map { max(1, ($0 + 999) / 1000) }
        let status = result.apiErrorStatus ?? lastRetry?.errorStatus
        switch status {
        case 401?, 403?:
            return APIError(status: 502, type: "upstream_error",
                            message: "The server's Claude credentials were rejected by the Anthropic API (HTTP \(status!)): \(detail). This is a server configuration problem, not your API key.",
                            code: "upstream_authentication_failed")
        case 400?:
            return APIError(status: 400, type: "invalid_request_error", message: "The Anthropic API rejected the request: \(detail)",
                            code: result.apiErrorType ?? "upstream_invalid_request")
        case 404?:
            return APIError(status: 404, type: "invalid_request_error", message: "The Anthropic API does not know the model: \(detail)",
                            param: "model", code: "model_not_found")
        case 413?:
            return APIError(status: 413, type: "invalid_request_error", message: "The request is too large for the Anthropic API: \(detail)",
                            code: "request_too_large")
        case 429?:
            return APIError(status: 429, type: "rate_limit_error", message: "The Anthropic API rate limit was reached: \(detail)",
                            code: "rate_limit_exceeded", retryAfterSeconds: retryAfter ?? 1)
        case 529?, 503?:
            return APIError(status: 503, type: "service_unavailable", message: "The Anthropic API is overloaded: \(detail)",
                            code: "upstream_overloaded", retryAfterSeconds: retryAfter ?? 1)
        case let status?:
            return APIError(status: 502, type: "upstream_error", message: "The Anthropic API failed (HTTP \(status)): \(detail)",
                            code: "upstream_error")
        case nil:
            if detail.localizedCaseInsensitiveContainsNotLoggedIn {
                return APIError(status: 502, type: "upstream_error",
                                message: "The server has no Claude credentials configured: \(detail). This is a server configuration problem.",
                                code: "upstream_credentials_missing")
            }
            return APIError(status: 502, type: "upstream_error", message: "The Claude CLI turn failed: \(detail)", code: "upstream_error")
        }
    }
}

extension String {
    fileprivate var localizedCaseInsensitiveContainsNotLoggedIn: Bool {
        lowercased().contains("not logged in") || lowercased().contains("/login")
    }
}
