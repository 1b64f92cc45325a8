import Foundation
import Testing
import HTTPCore
import SystemCalls
@testable import FastCGI

@Suite("The FastCGI transport on a TCP socket (loopback)")
struct TCPListeningSocketTests {
    static func connect(to address: SocketAddress) throws -> Int32 {
        guard case .ipv4(let host, let port) = address else { throw SystemError("not IPv4", errno: EINVAL) }
        let fd = try Syscalls.tcpStreamSocket()
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = port.bigEndian
        peer.sin_addr = in_addr(s_addr: Syscalls.ipv4Address(host)!)
        let connected = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = SystemError("connect", errno: errno)
            Syscalls.close(fd)
            throw error
        }
        return fd
    }

    @Test("a request over TCP reaches the handler and its response comes back")
    func roundTripOverTCP() throws {
        let listener = try ListeningSocket.bind(ipv4: "127.0.0.1", port: 0)
        guard case .ipv4("127.0.0.1", let port) = listener.address, port != 0 else {
            Issue.record("bound to \(listener.address)")
            return
        }
        let server = try FastCGIServer(listener: listener, workers: 2, readTimeoutMilliseconds: 2_000,
                                       onWorkerError: { _ in }, handler: EchoHandler())
        server.start()
        defer {
            server.stopAccepting(drainBacklog: false)
            listener.stopListening()
            #expect(server.waitForWorkers(timeoutSeconds: 5))
            Syscalls.close(listener.descriptor)
        }
        let fd = try Self.connect(to: listener.address)
        defer { Syscalls.close(fd) }
        let output = try FastCGIClient.exchange(connected: fd, params: [
            ("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/v1/models"), ("REMOTE_ADDR", "127.0.0.1"), ("REQUEST_ID", "tcp1"),
        ], body: [])
        #expect(output.hasPrefix("Status: 201 Created\r\n"))
        #expect(output.hasSuffix("GET /v1/models q= type=- auth=- from=127.0.0.1 id=tcp1 body="))
    }

    @Test("once a TCP socket stops listening, new connections are refused at once (nginx then tries another instance)")
    func stoppedSocketRefusesConnections() throws {
        let listener = try ListeningSocket.bind(ipv4: "127.0.0.1", port: 0)
        defer { Syscalls.close(listener.descriptor) }
        Syscalls.close(try Self.connect(to: listener.address))
        listener.stopListening()
        let error = #expect(throws: SystemError.self) { Syscalls.close(try Self.connect(to: listener.address)) }
        #expect(error?.errno == ECONNREFUSED)
    }

    @Test("a port another socket listens on is reported as in use")
    func takenPortIsReported() throws {
        let first = try ListeningSocket.bind(ipv4: "127.0.0.1", port: 0)
        defer { Syscalls.close(first.descriptor) }
        guard case .ipv4(_, let port) = first.address else { return }
        let error = #expect(throws: FastCGIError.self) { try ListeningSocket.bind(ipv4: "127.0.0.1", port: port) }
        #expect(error?.code == .addressInUse)
    }
}
