import HTTPCore
import HTTPCore

/// Every error code the service uses, in one place.
extension APIError.Code {
    public static let invalidJSON: Self = "invalid_json"
    public static let missingRequiredParameter: Self = "missing_required_parameter"
    public static let invalidType: Self = "invalid_type"
    public static let invalidValue: Self = "invalid_value"
    public static let emptyArray: Self = "empty_array"
    public static let unsupportedParameter: Self = "unsupported_parameter"
    public static let unsupportedImageURL: Self = "unsupported_image_url"
    public static let unsupportedMediaType: Self = "unsupported_media_type"
    public static let requestTooLarge: Self = "request_too_large"
    public static let unknownURL: Self = "unknown_url"
    public static let methodNotAllowed: Self = "method_not_allowed"
    public static let modelNotFound: Self = "model_not_found"
    public static let serverBusy: Self = "server_busy"
    public static let cliNotInstalled: Self = "cli_not_installed"
    public static let shuttingDown: Self = "shutting_down"
    public static let scratchUnavailable: Self = "scratch_unavailable"
    public static let requestTimeout: Self = "request_timeout"
    public static let cliStalled: Self = "cli_stalled"
    public static let cliFailed: Self = "cli_failed"
    public static let internalError: Self = "internal_error"
    public static let upstreamAuthenticationFailed: Self = "upstream_authentication_failed"
    public static let upstreamCredentialsMissing: Self = "upstream_credentials_missing"
    public static let upstreamInvalidRequest: Self = "upstream_invalid_request"
    public static let upstreamOverloaded: Self = "upstream_overloaded"
    public static let upstreamError: Self = "upstream_error"
    public static let rateLimitExceeded: Self = "rate_limit_exceeded"
    public static let invalidModelOutput: Self = "invalid_model_output"
    public static let toolCallInterrupted: Self = "tool_call_interrupted"
    public static let invalidAPIKey: Self = "invalid_api_key"
    public static let perKeyConcurrency: Self = "per_key_concurrency"
    public static let tooManyFailedAuthentications: Self = "too_many_failed_authentications"

    /// Codes that mean a deadline passed (for `/status`).
    public var isTimeout: Bool { self == .requestTimeout || self == .cliStalled }
}

/// Every error the service reports, in one place.
extension APIError {
    // MARK: Bad requests (400)

    public static func invalidJSON(_ detail: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest, message: "We could not parse the JSON body of your request. (\(detail))",
                 code: .invalidJSON)
    }

    public static func missingParameter(_ param: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest, message: "Missing required parameter: '\(param)'.",
                 param: param, code: .missingRequiredParameter)
    }

    public static func invalidType(_ param: String, expected: String, got: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest,
                 message: "Invalid type for '\(param)': expected \(expected), but got \(got) instead.",
                 param: param, code: .invalidType)
    }

    public static func invalidValue(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest, message: message, param: param, code: .invalidValue)
    }

    public static func emptyArray(_ param: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest,
                 message: "Invalid '\(param)': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                 param: param, code: .emptyArray)
    }

    public static func unsupportedParameter(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest, message: message, param: param, code: .unsupportedParameter)
    }

    public static func unsupportedImageURL(param: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest,
                 message: "This service does not fetch image URLs; send the image inline as a base64 'data:' URL.",
                 param: param, code: .unsupportedImageURL)
    }

    public static func unsupportedContentType(_ contentType: String) -> APIError {
        APIError(status: 415, kind: .invalidRequest,
                 message: "Unsupported Content-Type header '\(contentType)': send the body as 'application/json'.",
                 code: .unsupportedMediaType)
    }

    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: 413, kind: .requestTooLarge, message: "Request body too large: the limit is \(limit) bytes.",
                 code: .requestTooLarge)
    }

    // MARK: Routing

    public static func notFound(path: String) -> APIError {
        APIError(status: 404, kind: .notFound, message: "Unknown request URL: \(path).", code: .unknownURL)
    }

    public static func methodNotAllowed(method: HTTPMethod, path: String, allowed: [HTTPMethod]) -> APIError {
        let names = allowed.map(\.description)
        return APIError(status: 405, kind: .invalidRequest,
                        message: "Method \(method) is not allowed for \(path); use \(names.joined(separator: " or ")).",
                        code: .methodNotAllowed, headers: [HTTPHeader("Allow", names.joined(separator: ", "))])
    }

    public static func modelNotFound(_ model: String) -> APIError {
        APIError(status: 404, kind: .notFound,
                 message: "The model '\(model)' does not exist or you do not have access to it. GET /v1/models lists the models this service accepts.",
                 param: "model", code: .modelNotFound)
    }

    // MARK: API keys (the service's own; never the key or its digest in a message)

    public static func missingAPIKey() -> APIError {
        APIError(status: 401, kind: .authentication,
                 message: "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY' (or 'x-api-key: YOUR_KEY').",
                 code: .invalidAPIKey, headers: [HTTPHeader("WWW-Authenticate", "Bearer")])
    }

    public static func invalidAPIKey() -> APIError {
        APIError(status: 401, kind: .authentication,
                 message: "Incorrect API key provided. Ask the operator of this service for a valid key.",
                 code: .invalidAPIKey, headers: [HTTPHeader("WWW-Authenticate", "Bearer")])
    }

    public static func tooManyFailedAuthentications(retryAfterSeconds: Int) -> APIError {
        APIError(status: 429, kind: .rateLimit,
                 message: "Too many requests with a missing or wrong API key from your address; retry in \(retryAfterSeconds) s.",
                 code: .tooManyFailedAuthentications, retryAfterSeconds: retryAfterSeconds)
    }

    public static func perKeyConcurrency(limit: Int, rateLimit: RateLimitState?) -> APIError {
        APIError(status: 429, kind: .rateLimit,
                 message: "This API key already has \(limit) request\(limit == 1 ? "" : "s") in progress, its limit; retry when one has finished.",
                 code: .perKeyConcurrency, retryAfterSeconds: 1, headers: rateLimit?.headers ?? [])
    }

    public static func keyRateLimited(rpm: Int, retryAfterSeconds: Int, rateLimit: RateLimitState) -> APIError {
        APIError(status: 429, kind: .rateLimit,
                 message: "Rate limit reached for this API key: \(rpm) requests per minute. Retry in \(retryAfterSeconds) s.",
                 code: .rateLimitExceeded, retryAfterSeconds: retryAfterSeconds, headers: rateLimit.headers)
    }

    // MARK: Capacity and availability

    public static func overCapacity(retryAfterSeconds: Int) -> APIError {
        APIError(status: 429, kind: .rateLimit, message: "All Claude CLI slots are busy; retry shortly.", code: .serverBusy,
                 retryAfterSeconds: retryAfterSeconds)
    }

    public static func cliNotInstalled() -> APIError {
        APIError(status: 503, kind: .unavailable, message: "The Claude Code CLI is not installed on this server.", code: .cliNotInstalled,
                 retryAfterSeconds: 60)
    }

    public static func shuttingDown() -> APIError {
        APIError(status: 503, kind: .unavailable, message: "The service is restarting; retry shortly.", code: .shuttingDown,
                 retryAfterSeconds: 1)
    }

    public static func scratchUnavailable(requestID: String) -> APIError {
        APIError(status: 503, kind: .unavailable,
                 message: "The server cannot prepare a working folder for the Claude CLI; its disk may be full.\(quoting(requestID))",
                 code: .scratchUnavailable, retryAfterSeconds: 5)
    }

    public static func requestTimedOut(seconds: Int) -> APIError {
        APIError(status: 504, kind: .timeout, message: "The model did not finish within \(seconds) seconds.", code: .requestTimeout)
    }

    public static func stalled(seconds: Int) -> APIError {
        APIError(status: 504, kind: .timeout, message: "The Claude CLI produced no output for \(seconds) seconds.", code: .cliStalled)
    }

    // MARK: The CLI and upstream

    /// The model's answer breaks what the request asked for (JSON, a schema, a required tool call).
    public static func invalidModelOutput(_ message: String) -> APIError {
        APIError(status: 502, kind: .upstream, message: message, code: .invalidModelOutput)
    }

    public static func toolCallInterrupted() -> APIError {
        APIError(status: 502, kind: .upstream,
                 message: "The connection to the model dropped while it was calling a tool; send the request again.",
                 code: .toolCallInterrupted)
    }

    /// The CLI ended, crashed or failed to start before finishing the answer. What it said goes to the log only.
    public static func cliFailed(requestID: String) -> APIError {
        APIError(status: 502, kind: .upstream, message: "The Claude CLI failed before finishing the answer.\(quoting(requestID))",
                 code: .cliFailed)
    }

    /// A failure inside the service; the detail goes to the log only.
    public static func internalError(requestID: String?) -> APIError {
        APIError(status: 500, kind: .server, message: "Internal error.\(quoting(requestID))", code: .internalError)
    }

    /// Server-side failures name the request, so that a client can quote it and an operator find its log lines.
    private static func quoting(_ requestID: String?) -> String {
        requestID.map { " The server's log has the details under request id \($0)." } ?? ""
    }
}
