/// A request as the application sees it, whatever transport brought it.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query string.
    public var path: String
    /// The raw query string (after `?`), empty when there is none.
    public var query: String
    /// Request headers, with lower-cased names (`content-type`, `authorization`, ...).
    public var headers: [String: String]
    public var contentLength: Int?
    /// nginx's `$request_id`, or one made up by the transport.
    public var requestID: String
    /// The address of the HTTP client as the web server saw it (`REMOTE_ADDR`), when known.
    public var remoteAddress: String?

    public init(method: HTTPMethod, path: String, query: String = "", headers: [String: String] = [:], contentLength: Int? = nil,
                requestID: String, remoteAddress: String? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.contentLength = contentLength
        self.requestID = requestID
        self.remoteAddress = remoteAddress
    }

    public var contentType: String? { headers["content-type"] }
}
