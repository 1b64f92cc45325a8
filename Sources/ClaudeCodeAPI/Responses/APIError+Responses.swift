/// The Responses API's own errors.
extension APIError {
    static func previousResponseNotFound(_ id: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest, message: "Previous response with id '\(id)' not found.",
                 param: "previous_response_id", code: "previous_response_not_found")
    }

    static func responseNotFound(_ id: String) -> APIError {
        APIError(status: 404, kind: .notFound, message: "Response with id '\(id)' not found.", code: "response_not_found")
    }

    static func statelessService(_ param: String) -> APIError {
        APIError(status: 400, kind: .invalidRequest,
                 message: "This service stores no responses (no state folder is configured: CCA_STATE_DIR), so '\(param)' cannot be used.",
                 param: param, code: .unsupportedParameter)
    }

    static func stateUnavailable(requestID: String) -> APIError {
        APIError(status: 503, kind: .unavailable,
                 message: "The server cannot read or write its stored responses now. The server's log has the details under request id \(requestID).",
                 code: "state_unavailable", retryAfterSeconds: 5)
    }
}
