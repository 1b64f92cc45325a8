import Testing
import SystemCalls
@testable import FastCGI

@Suite("Who may connect to a TCP socket (libfcgi's FCGI_WEB_SERVER_ADDRS)")
struct AllowedPeersTests {
    @Test("every interface without a list of web servers is refused: FastCGI has no authentication")
    func wildcardNeedsAList() throws {
        let wildcard = SocketAddress.ipv4(host: "0.0.0.0", port: 9000)
        let error = #expect(throws: FastCGIError.self) { try AllowedPeers.anyone.check(serving: wildcard) }
        #expect(error?.code == .peerListRequired)
        try AllowedPeers(["10.0.0.2", "10.0.0.3"]).check(serving: wildcard)
    }

    @Test("one address may be served with or without a list")
    func oneAddressMayGoWithoutAList() throws {
        try AllowedPeers.anyone.check(serving: .ipv4(host: "10.0.0.5", port: 9000))
        try AllowedPeers(["10.0.0.2"]).check(serving: .ipv4(host: "10.0.0.5", port: 9000))
    }

    @Test("IPv6 is refused, list or not: libfcgi checks the peers of IPv4 connections only")
    func ipv6IsRefused() {
        for peers in [AllowedPeers.anyone, try! AllowedPeers(["10.0.0.2"])] {
            for host in ["::", "::1", "fd00::5"] {
                #expect(throws: FastCGIError.self) { try peers.check(serving: .ipv6(host: host, port: 9000)) }
            }
        }
    }

    @Test("a list for a unix socket is refused: libfcgi would not check it")
    func listOnAUnixSocketIsRefused() throws {
        let error = #expect(throws: FastCGIError.self) {
            try AllowedPeers(["127.0.0.1"]).check(serving: .unix(path: "/run/x/fcgi.sock"))
        }
        #expect(error?.code == .invalidPeerList)
        try AllowedPeers.anyone.check(serving: .unix(path: "/run/x/fcgi.sock"))
    }

    @Test("only exact IPv4 addresses in dotted-quad form are taken (inet_addr would misread the others)",
          arguments: ["10.0.0.0/8", "127.1", "010.0.0.1", "0x7f.0.0.1", "10.0.0.256", "localhost", "::1", " 10.0.0.2", ""])
    func malformedAddressesAreRefused(address: String) {
        #expect(throws: FastCGIError.self) { try AllowedPeers([address]) }
    }
}
