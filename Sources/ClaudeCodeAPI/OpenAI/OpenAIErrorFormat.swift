/// OpenAI's error object, `{"error":{"message","type","param","code"}}` (explicit nulls, as OpenAI sends them), and
/// in a stream the same object as a `data:` event followed by `[DONE]`.
public struct OpenAIErrorFormat: ErrorFormat {
    public init() {}

    /// OpenAI's `type` for each kind of error.
    public static func type(of kind: APIError.Kind) -> String {
        switch kind {
        case .invalidRequest, .notFound, .requestTooLarge, .authentication: "invalid_request_error"
        case .permission: "permission_error"
        case .rateLimit: "rate_limit_error"
        case .unavailable: "service_unavailable"
        case .timeout: "timeout_error"
        case .upstream: "upstream_error"
        case .server: "server_error"
        }
    }

    public func responseBody(for error: APIError) -> [UInt8] {
        Array((object(error) + "\n").utf8)
    }

    public func streamEvents(for error: APIError) -> [UInt8] {
        SSEEncoder.data(Array(object(error).utf8)) + SSEEncoder.done
    }

    private func object(_ error: APIError) -> String {
        #"{"error":{"code":\#(JSONString.quoted(error.code.rawValue)),"message":\#(JSONString.quoted(error.message)),"#
            + #""param":\#(JSONString.quotedOrNull(error.param)),"type":\#(JSONString.quoted(Self.type(of: error.kind)))}}"#
    }
}
