import CFastCGI
import HTTPCore
import SystemCalls

/// One accepted request seen as a `ResponseWriter` and a `RequestBodyReader`.
final class FastCGIExchange: ResponseWriter, RequestBodyReader {
    private let request: UnsafeMutablePointer<FCGX_Request>
    private var ended = false
    private var failed = false
    /// Inside a batch, flushes wait for its end; `flushOwed` says one was asked for.
    private var batching = false
    private var flushOwed = false
    /// Called once the request has been received in full (end of body, or the response has begun).
    private var requestReceived: (() -> Void)?
    /// The longest one blocking write to the connection may take (a client that reads too slowly is dropped).
    private let writeTimeoutMilliseconds: Int
    /// The send timeout in force on the connection, to change it only when needed.
    private var sendTimeoutMilliseconds = 0
    var writeDeadline: UInt64?
    /// How long a write may block once the deadline has passed.
    static let lastWriteMilliseconds = 1_000

    init(request: UnsafeMutablePointer<FCGX_Request>, writeTimeoutMilliseconds: Int, requestReceived: @escaping () -> Void) {
        self.request = request
        self.writeTimeoutMilliseconds = writeTimeoutMilliseconds
        self.requestReceived = requestReceived
    }

    /// Bounds the next blocking write: libfcgi writes with plain blocking `write()`s and treats a short or failed one
    /// as a broken stream, so a send timeout turns a client that stopped reading into a failed flush.
    /// The limit is the transport's per-write timeout, or less when the write deadline is nearer; past the deadline a
    /// write still gets `lastWriteMilliseconds`, so that the answer that says so (a 504, a timeout event) can go out.
    private func boundNextWrite() throws(ClientDisconnected) {
        var limit = writeTimeoutMilliseconds
        if let writeDeadline {
            let now = Syscalls.monotonicNanoseconds()
            let remaining = writeDeadline > now ? Int((writeDeadline - now) / 1_000_000) : 0
            limit = min(limit, max(Self.lastWriteMilliseconds, remaining))
        }
        // Shortening always applies; lengthening waits until the difference matters (saves a syscall per event).
        guard limit < sendTimeoutMilliseconds || limit > sendTimeoutMilliseconds + 1_000 || sendTimeoutMilliseconds == 0 else { return }
        try? Syscalls.setSendTimeout(LibFCGI.connectionDescriptor(of: request), milliseconds: limit)
        sendTimeoutMilliseconds = limit
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
        guard !failed else { throw ClientDisconnected() }
        try boundNextWrite()  // a full buffer is written out inside FCGX_PutStr
        guard LibFCGI.write(request, bytes) else {
            failed = true
            throw ClientDisconnected()
        }
    }

    func flush() throws(ClientDisconnected) {
        guard !ended else { return }
        guard !failed else { throw ClientDisconnected() }
        if batching {
            flushOwed = true
            return
        }
        try boundNextWrite()
        guard LibFCGI.flush(request) else {
            failed = true
            throw ClientDisconnected()
        }
    }

    func beginBatch() {
        batching = true
    }

    func endBatch() throws(ClientDisconnected) {
        batching = false
        guard flushOwed else { return }
        flushOwed = false
        try flush()
    }

    func end() {
        guard !ended else { return }
        ended = true
        // Finishing writes what is buffered and the end records: bounded like any other write.
        if !failed { try? boundNextWrite() }
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
