import CFastCGI
import HTTPCore

/// One accepted request seen as a `ResponseWriter` and a `RequestBodyReader`.
final class FastCGIExchange: ResponseWriter, RequestBodyReader {
    private let request: UnsafeMutablePointer<FCGX_Request>
    private var ended = false
    private var failed = false
    /// Called once the request has been received in full (end of body, or the response has begun).
    private var requestReceived: (() -> Void)?

    init(request: UnsafeMutablePointer<FCGX_Request>, requestReceived: @escaping () -> Void) {
        self.request = request
        self.requestReceived = requestReceived
    }

    private func markRequestReceived() {
        requestReceived?()
        requestReceived = nil
    }

    var disconnectDescriptor: Int32? {
        ended ? nil : LibFCGI.connectionDescriptor(of: request)
    }

    func writeHead(status: Int, headers: [HTTPHeader]) throws(ClientDisconnected) {
        var head = "Status: \(status) \(HTTPStatus.reasonPhrase(status))\r\n"
        for header in headers {
            head += "\(Self.withoutLineBreaks(header.name)): \(Self.withoutLineBreaks(header.value))\r\n"
        }
        head += "\r\n"
        try write(Array(head.utf8))
    }

    /// Header text with every CR and LF removed. By scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
    static func withoutLineBreaks(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.lazy.filter { $0 != "\r" && $0 != "\n" })
        return String(scalars)
    }

    func write(_ bytes: [UInt8]) throws(ClientDisconnected) {
        guard !ended else { return }
        markRequestReceived()
        guard !failed, LibFCGI.write(request, bytes) else {
            failed = true
            throw ClientDisconnected()
        }
    }

    func flush() throws(ClientDisconnected) {
        guard !ended else { return }
        guard !failed, LibFCGI.flush(request) else {
            failed = true
            throw ClientDisconnected()
        }
    }

    func end() {
        guard !ended else { return }
        ended = true
        LibFCGI.finish(request)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = ended ? 0 : LibFCGI.read(request, into: buffer)
        if n == 0 { markRequestReceived() }
        return n
    }

    /// The request line and headers, from the FastCGI parameters nginx sends.
    func httpRequest() -> HTTPRequest {
        Self.httpRequest(from: LibFCGI.parameters(of: request))
    }

    /// CGI parameters to a request: `HTTP_X_API_KEY` becomes the header `x-api-key`; `CONTENT_TYPE` and
    /// `CONTENT_LENGTH` (which CGI keeps apart) become `content-type` and `content-length`.
    static func httpRequest(from params: [String: String]) -> HTTPRequest {
        let uri = params["DOCUMENT_URI"] ?? params["REQUEST_URI"].map { String($0.split(separator: "?", maxSplits: 1).first ?? "") } ?? "/"
        var headers: [String: String] = [:]
        for (name, value) in params where name.hasPrefix("HTTP_") {
            headers[String(name.dropFirst(5).lowercased().map { $0 == "_" ? "-" : $0 })] = value
        }
        if let type = params["CONTENT_TYPE"], !type.isEmpty { headers["content-type"] = type }
        if let length = params["CONTENT_LENGTH"], !length.isEmpty { headers["content-length"] = length }
        let requestID = params["REQUEST_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? RequestID.make()
        return HTTPRequest(method: HTTPMethod(params["REQUEST_METHOD"] ?? "GET"), path: uri.isEmpty ? "/" : uri,
                           query: params["QUERY_STRING"] ?? "", headers: headers,
                           contentLength: params["CONTENT_LENGTH"].flatMap { Int($0) }, requestID: requestID,
                           remoteAddress: params["REMOTE_ADDR"].flatMap { $0.isEmpty ? nil : $0 })
    }
}
