import Testing
import SystemCalls
@testable import ClaudeCodeAPI

@Suite("Where the responder listens (CCA_LISTEN) and who may connect (CCA_FASTCGI_ALLOWED)")
struct ListenConfigurationTests {
    static func configuration(_ env: [String: String]) throws -> Configuration {
        try Configuration.fromEnvironment(env.merging(["CCA_CLAUDE_PATH": "/bin/true"]) { first, _ in first })
    }

    @Test("no CCA_LISTEN is the socket handed over as fd 0; a path is a unix socket")
    func pathsAndInherited() throws {
        #expect(try Self.configuration([:]).listen == nil)
        #expect(try Self.configuration(["CCA_LISTEN": "/run/claude-code-api/fcgi.sock"]).listen == .unix(path: "/run/claude-code-api/fcgi.sock"))
        #expect(try Self.configuration(["CCA_LISTEN": "fcgi.sock"]).listen == .unix(path: "fcgi.sock"))
    }

    @Test("an IPv4 address and port is TCP; an empty or * host is every interface")
    func tcpAddresses() throws {
        #expect(try Self.configuration(["CCA_LISTEN": "10.0.0.5:9000"]).listen == .ipv4(host: "10.0.0.5", port: 9000))
        #expect(try Self.configuration(["CCA_LISTEN": ":9000"]).listen == .ipv4(host: "0.0.0.0", port: 9000))
        #expect(try Self.configuration(["CCA_LISTEN": "*:9000"]).listen == .ipv4(host: "0.0.0.0", port: 9000))
    }

    @Test("host names, IPv6 and bad ports are refused", arguments: [
        "localhost:9000", "[::1]:9000", ":::9000", "10.0.0.5:0", "10.0.0.5:65536", "10.0.0.5:+90", "10.0.0.5:", "127.1:9000",
    ])
    func unusableAddresses(value: String) {
        let error = #expect(throws: ConfigurationError.self) { try Self.configuration(["CCA_LISTEN": value]) }
        #expect(error?.variable == "CCA_LISTEN")
    }

    @Test("CCA_FASTCGI_ALLOWED takes IPv4 addresses, comma-separated")
    func allowedPeers() throws {
        let configuration = try Self.configuration(["CCA_LISTEN": ":9000", "CCA_FASTCGI_ALLOWED": "10.0.0.2, 10.0.0.3"])
        #expect(configuration.fastCGIAllowedPeers == ["10.0.0.2", "10.0.0.3"])
        #expect(try Self.configuration([:]).fastCGIAllowedPeers.isEmpty)
    }

    @Test("CCA_FASTCGI_ALLOWED refuses networks and what inet_addr would misread", arguments: ["10.0.0.0/24", "127.1", "010.0.0.1", "nginx"])
    func malformedPeers(value: String) {
        let error = #expect(throws: ConfigurationError.self) { try Self.configuration(["CCA_FASTCGI_ALLOWED": value]) }
        #expect(error?.variable == "CCA_FASTCGI_ALLOWED")
    }

    @Test("FCGI_WEB_SERVER_ADDRS in the environment is refused: only CCA_FASTCGI_ALLOWED decides who may connect")
    func libfcgiVariableIsRefused() {
        let error = #expect(throws: ConfigurationError.self) { try Self.configuration(["FCGI_WEB_SERVER_ADDRS": "10.0.0.2"]) }
        #expect(error?.variable == "FCGI_WEB_SERVER_ADDRS")
    }
}
