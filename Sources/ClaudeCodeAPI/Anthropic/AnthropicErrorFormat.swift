/// Anthropic's error object, `{"type":"error","error":{"type","message"}}`, with its statuses (529 for overload), and
/// in a stream an `event: error`.
public struct AnthropicErrorFormat: ErrorFormat {
    public init() {}

    public static func type(of error: APIError) -> String {
        switch error.kind {
        case .invalidRequest: "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound: "not_found_error"
        case .requestTooLarge: "request_too_large"
        case .rateLimit: error.code == .serverBusy ? "overloaded_error" : "rate_limit_error"
        case .unavailable: "overloaded_error"
        case .timeout, .upstream, .server: "api_error"
        }
    }

    /// The service or upstream at capacity is Anthropic's 529; everything else keeps its status.
    public func status(for error: APIError) -> Int {
        Self.type(of: error) == "overloaded_error" ? 529 : error.status
    }

    public func responseBody(for error: APIError) -> [UInt8] {
        Array((object(error) + "\n").utf8)
    }

    public func streamEvents(for error: APIError) -> [UInt8] {
        SSEEncoder.event("error", Array(object(error).utf8))
    }

    private func object(_ error: APIError) -> String {
        #"{"error":{"message":\#(JSONString.quoted(error.message)),"type":\#(JSONString.quoted(Self.type(of: error)))},"type":"error"}"#
    }
}
