import CFastCGI
import ClaudeCodeAPI

/// One accepted request seen as the application's `ResponseWriter` and `RequestBodyReader`.
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

    func writeHead(status: Int, headers: [(String, String)]) throws(ClientDisconnected) {
        var head = "Status: \(status) \(HTTPStatus.reasonPhrase(status))\r\n"
        for (name, value) in headers {
            // Header values come from the service itself; strip line breaks all the same.
            head += "\(name): \(value.filter { $0 != "\r" && $0 != "\n" })\r\n"
        }
        head += "\r\n"
        try write(Array(head.utf8))
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
        let params = LibFCGI.parameters(of: request)
        let uri = params["DOCUMENT_URI"] ?? params["REQUEST_URI"].map { String($0.split(separator: "?", maxSplits: 1).first ?? "") } ?? "/"
        var headers: [String: String] = [:]
        for (name, value) in params where name.hasPrefix("HTTP_") {
            headers[name.dropFirst(5).lowercased().replacingOccurrences(of: "_", with: "-")] = value
        }
        let requestID = params["REQUEST_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? RequestID.make()
        return HTTPRequest(method: params["REQUEST_METHOD"] ?? "GET", path: uri.isEmpty ? "/" : uri,
                           contentType: params["CONTENT_TYPE"], contentLength: params["CONTENT_LENGTH"].flatMap { Int($0) },
                           requestID: requestID, headers: headers)
    }
}
