import Foundation
import Testing
import HTTPCore
import SystemCalls
@testable import FastCGI

/// A handler that knows nothing of the API: it answers with what it was given.
struct EchoHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, body: any RequestBodyReader, writer: any ResponseWriter) {
        let received = (try? body.readAll(limit: 1 << 20)) ?? []
        let summary = "\(request.method) \(request.path) q=\(request.query) type=\(request.contentType ?? "-") "
            + "auth=\(request.headers["authorization"] ?? "-") from=\(request.remoteAddress ?? "-") id=\(request.requestID) body="
        try? writer.respond(status: 201, contentType: "text/plain", body: Array(summary.utf8) + received,
                            headers: [HTTPHeader("X-Test", "a\r\nInjected: no")])
        writer.end()
    }
}

/// Speaks FastCGI to the server the way nginx does: one request per connection, params, stdin, then read stdout.
enum FastCGIClient {
    static func record(type: UInt8, id: UInt16 = 1, _ content: [UInt8]) -> [UInt8] {
        [1, type, UInt8(id >> 8), UInt8(id & 0xff), UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
    }

    static func pair(_ name: String, _ value: String) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] { n < 128 ? [UInt8(n)] : [UInt8(0x80 | (n >> 24)), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] }
        return length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8)
    }

    /// Sends one request and returns the stdout bytes of the response.
    static func exchange(socketPath: String, params: [(String, String)], body: [UInt8]) throws -> String {
        let fd = try connect(socketPath: socketPath)
        defer { Syscalls.close(fd) }
        return try exchange(connected: fd, params: params, body: body)
    }

    /// Sends one request on a connected socket and returns the stdout bytes of the response.
    static func exchange(connected fd: Int32, params: [(String, String)], body: [UInt8]) throws -> String {
        String(decoding: try stdoutRecords(connected: fd, params: params, body: body).joined(), as: UTF8.self)
    }

    /// Sends one request on a connected socket and returns the contents of the response's STDOUT records, in order.
    static func stdoutRecords(connected fd: Int32, params: [(String, String)], body: [UInt8]) throws -> [[UInt8]] {
        var request = record(type: 1, [0, 1, 0, 0, 0, 0, 0, 0])  // BEGIN_REQUEST, role RESPONDER, no keep-alive
        request += record(type: 4, params.flatMap { pair($0.0, $0.1) }) + record(type: 4, [])
        if !body.isEmpty { request += record(type: 5, body) }
        request += record(type: 5, [])
        try Syscalls.writeAll(fd, request)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += buffer[..<n]
        }
        // Collect STDOUT (6) record contents.
        var stdout: [[UInt8]] = []
        var offset = 0
        while offset + 8 <= received.count {
            let type = received[offset + 1]
            let length = Int(received[offset + 4]) << 8 | Int(received[offset + 5])
            let padding = Int(received[offset + 6])
            if type == 6 { stdout.append(Array(received[(offset + 8)..<(offset + 8 + length)])) }
            offset += 8 + length + padding
        }
        return stdout
    }

    static func connect(socketPath: String) throws -> Int32 {
        let fd = try Syscalls.unixStreamSocket()
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: socketPath.utf8); raw[socketPath.utf8.count] = 0 }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            Syscalls.close(fd)
            throw SystemError("connect")
        }
        return fd
    }
}

/// Streams three events, each written and flushed, inside one batch or not.
struct ThreeEventsHandler: HTTPHandler {
    let batched: Bool

    func handle(_ request: HTTPRequest, body: any RequestBodyReader, writer: any ResponseWriter) {
        _ = try? body.readAll(limit: 1 << 20)
        try? writer.writeHead(status: 200, headers: [HTTPHeader("Content-Type", "text/event-stream")])
        if batched { writer.beginBatch() }
        for event in ["one", "two", "three"] {
            try? writer.write(Array("data: \(event)\n\n".utf8))
            try? writer.flush()
        }
        if batched { try? writer.endBatch() }
        writer.end()
    }
}

@Suite("The FastCGI transport with a trivial handler", .serialized)
struct FastCGIServerTests {
    @Test("flushes inside a batch go out as one record at its end; outside a batch, each flush sends its own", arguments: [false, true])
    func batchesCoalesceFlushes(batched: Bool) throws {
        let folder = try Syscalls.makeTemporaryDirectory(in: NSTemporaryDirectory(), prefix: "fcgi-test-")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/fcgi.sock"
        let listener = try ListeningSocket.bind(path: path, mode: 0o600)
        let server = try FastCGIServer(listener: listener, workers: 2, readTimeoutMilliseconds: 2_000,
                                       onWorkerError: { _ in }, handler: ThreeEventsHandler(batched: batched))
        server.start()
        defer {
            listener.removeFile()
            server.stopAccepting(drainBacklog: false)
            #expect(server.waitForWorkers(timeoutSeconds: 5))
        }
        let fd = try FastCGIClient.connect(socketPath: path)
        defer { Syscalls.close(fd) }
        let records = try FastCGIClient.stdoutRecords(connected: fd, params: [("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/")], body: [])
            .filter { !$0.isEmpty }
        let body = String(decoding: records.joined(), as: UTF8.self)
        #expect(body.hasSuffix("\r\n\r\ndata: one\n\ndata: two\n\ndata: three\n\n"))
        #expect(records.count == (batched ? 1 : 3))
    }

    @Test("a request reaches the handler as an HTTPRequest, and its response comes back as CGI headers and body")
    func roundTrip() throws {
        let folder = try Syscalls.makeTemporaryDirectory(in: NSTemporaryDirectory(), prefix: "fcgi-test-")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/fcgi.sock"
        let listener = try ListeningSocket.bind(path: path, mode: 0o600)
        let server = try FastCGIServer(listener: listener, workers: 2, readTimeoutMilliseconds: 2_000,
                                       onWorkerError: { _ in }, handler: EchoHandler())
        server.start()
        defer {
            listener.removeFile()
            server.stopAccepting(drainBacklog: false)
            #expect(server.waitForWorkers(timeoutSeconds: 5))
        }
        let output = try FastCGIClient.exchange(socketPath: path, params: [
            ("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/v1/echo"), ("QUERY_STRING", "a=1"), ("CONTENT_TYPE", "application/json"),
            ("CONTENT_LENGTH", "7"), ("HTTP_AUTHORIZATION", "Bearer k"), ("REMOTE_ADDR", "127.0.0.9"), ("REQUEST_ID", "abc123"),
        ], body: Array("{\"x\":1}".utf8))
        #expect(output.hasPrefix("Status: 201 Created\r\n"))
        #expect(output.contains("Content-Type: text/plain\r\n"))
        #expect(output.contains("X-Test: aInjected: no\r\n"))  // no header injection through a value
        #expect(output.hasSuffix("\r\n\r\nPOST /v1/echo q=a=1 type=application/json auth=Bearer k from=127.0.0.9 id=abc123 body={\"x\":1}"))
    }

    @Test("a second instance refuses to take over a live socket")
    func liveSocketIsLeftAlone() throws {
        let folder = try Syscalls.makeTemporaryDirectory(in: NSTemporaryDirectory(), prefix: "fcgi-test-")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/fcgi.sock"
        let first = try ListeningSocket.bind(path: path, mode: 0o600)
        defer { first.removeFile(); Syscalls.close(first.descriptor) }
        #expect(throws: FastCGIError.self) { try ListeningSocket.bind(path: path, mode: 0o600) }
    }
}
