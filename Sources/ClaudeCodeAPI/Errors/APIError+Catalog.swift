/// Every error the service reports, in one place.
extension APIError {
    // MARK: Bad requests (400)

    public static func invalidJSON(_ detail: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error",
                 message: "We could not parse the JSON body of your request. (\(detail))", code: "invalid_json")
    }

    public static func missingParameter(_ param: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error", message: "Missing required parameter: '\(param)'.",
                 param: param, code: "missing_required_parameter")
    }

    public static func invalidType(_ param: String, expected: String, got: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error",
                 message: "Invalid type for '\(param)': expected \(expected), but got \(got) instead.",
                 param: param, code: "invalid_type")
    }

    public static func invalidValue(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error", message: message, param: param, code: "invalid_value")
    }

    public static func emptyArray(_ param: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error",
                 message: "Invalid '\(param)': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                 param: param, code: "empty_array")
    }

    public static func unsupportedParameter(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error", message: message, param: param, code: "unsupported_parameter")
    }

    public static func unsupportedContentType(_ contentType: String) -> APIError {
        APIError(status: 415, type: "invalid_request_error",
                 message: "Unsupported Content-Type '\(contentType)': send 'application/json'.", code: "unsupported_media_type")
    }

    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: 413, type: "invalid_request_error",
                 message: "Request body too large: the limit is \(limit) bytes.", code: "request_too_large")
    }

    // MARK: Routing

    public static func notFound(path: String) -> APIError {
        APIError(status: 404, type: "invalid_request_error", message: "Unknown request URL: \(path).", code: "unknown_url")
    }

    public static func methodNotAllowed(method: String, path: String, allowed: [String]) -> APIError {
        APIError(status: 405, type: "invalid_request_error",
                 message: "Method \(method) is not allowed for \(path); use \(allowed.joined(separator: " or ")).",
                 code: "method_not_allowed")
    }

    public static func modelNotFound(_ model: String) -> APIError {
        APIError(status: 404, type: "invalid_request_error",
                 message: "The model '\(model)' does not exist or you do not have access to it. GET /v1/models lists the models this service accepts.",
                 param: "model", code: "model_not_found")
    }

    // MARK: Capacity and availability

    public static func overCapacity(retryAfterSeconds: Int) -> APIError {
        APIError(status: 429, type: "rate_limit_error",
                 message: "All Claude CLI slots are busy; retry shortly.", code: "server_busy", retryAfterSeconds: retryAfterSeconds)
    }

    public static func cliNotInstalled(path: String) -> APIError {
        APIError(status: 503, type: "service_unavailable",
                 message: "The Claude Code CLI is not installed on this server (looked for '\(path)').", code: "cli_not_installed",
                 retryAfterSeconds: 60)
    }

    public static func shuttingDown() -> APIError {
        APIError(status: 503, type: "service_unavailable", message: "The service is restarting; retry shortly.",
                 code: "shutting_down", retryAfterSeconds: 1)
    }

    public static func scratchUnavailable(_ detail: String) -> APIError {
        APIError(status: 503, type: "service_unavailable",
                 message: "The server cannot prepare a working folder for the Claude CLI (\(detail)). Its disk may be full.",
                 code: "scratch_unavailable", retryAfterSeconds: 5)
    }

    public static func requestTimedOut(seconds: Int) -> APIError {
        APIError(status: 504, type: "timeout_error", message: "The model did not finish within \(seconds) seconds.",
                 code: "request_timeout")
    }

    public static func stalled(seconds: Int) -> APIError {
        APIError(status: 504, type: "timeout_error", message: "The Claude CLI produced no output for \(seconds) seconds.",
                 code: "cli_stalled")
    }

    // MARK: The CLI and upstream

    public static func cliFailed(_ detail: String) -> APIError {
        APIError(status: 502, type: "upstream_error", message: "The Claude CLI failed: \(detail)", code: "cli_failed")
    }

    public static func internalError(_ detail: String) -> APIError {
        APIError(status: 500, type: "server_error", message: "Internal error: \(detail)", code: "internal_error")
    }
}
