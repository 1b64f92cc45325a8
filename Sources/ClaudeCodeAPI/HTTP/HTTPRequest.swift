/// A request as the application sees it, whatever transport brought it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string.
    public var path: String
    public var contentType: String?
    public var contentLength: Int?
    /// nginx's `$request_id`, or one made up here.
    public var requestID: String
    /// Request headers, lower-cased names.
    public var headers: [String: String]

    public init(method: String, path: String, contentType: String? = nil, contentLength: Int? = nil, requestID: String, headers: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.contentType = contentType
        self.contentLength = contentLength
        self.requestID = requestID
        self.headers = headers
    }
}
