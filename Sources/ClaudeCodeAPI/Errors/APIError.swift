import HTTPCore
import HTTPCore

/// Every failure the service reports, as a value that carries all its response needs: the status, the headers
/// (`Retry-After`, `Allow`, `WWW-Authenticate`), and the body fields. How it looks on the wire is the business of
/// one `ErrorFormat` per API surface (`OpenAIErrorFormat`, ...); `APIError+Catalog.swift` lists every error.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, in terms every API surface can name in its own words.
    public enum Kind: Sendable, Equatable {
        case invalidRequest
        case authentication
        case permission
        case notFound
        case requestTooLarge
        case rateLimit
        /// The service or upstream cannot take the request now (stopping, overloaded, CLI missing).
        case unavailable
        case timeout
        /// The CLI or the Anthropic API failed.
        case upstream
        case server
    }

    /// A machine-readable code (`model_not_found`, `request_timeout`, ...): compared as a value, never parsed.
    public struct Code: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public var description: String { rawValue }
    }

    public var status: Int
    public var kind: Kind
    public var message: String
    /// The request field at fault, where there is one.
    public var param: String?
    public var code: Code
    /// Headers the response must carry.
    public var headers: [HTTPHeader]

    public init(status: Int, kind: Kind, message: String, param: String? = nil, code: Code, retryAfterSeconds: Int? = nil,
                headers: [HTTPHeader] = []) {
        self.status = status
        self.kind = kind
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers
        if let retryAfterSeconds { self.headers.append(HTTPHeader("Retry-After", String(retryAfterSeconds))) }
    }

    /// The `Retry-After` the error asks for, in seconds.
    public var retryAfterSeconds: Int? {
        headers.first { $0.name == "Retry-After" }.flatMap { Int($0.value) }
    }

    public var description: String { "\(status) \(code): \(message)" }
}
