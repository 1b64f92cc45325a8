/// An error as an OpenAI client sees it: `{"error":{"message","type","param","code"}}` with an HTTP status.
/// Every failure the service reports is one of these; `APIError+Catalog.swift` lists them all.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var type: String
    public var message: String
    public var param: String?
    public var code: String?
    /// Seconds for a `Retry-After` header, where known.
    public var retryAfterSeconds: Int?

    public init(status: Int, type: String, message: String, param: String? = nil, code: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status) \(code ?? type): \(message)" }

    /// The `{"error":{...}}` body.
    public var body: ErrorBody { ErrorBody(error: .init(message: message, type: type, param: param, code: code)) }

    public struct ErrorBody: Encodable, Sendable {
        public struct Detail: Encodable, Sendable {
            public var message: String
            public var type: String
            public var param: String?
            public var code: String?

            public func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)  // OpenAI sends explicit nulls
                try c.encode(code, forKey: .code)
            }
            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
        public var error: Detail
    }
}
