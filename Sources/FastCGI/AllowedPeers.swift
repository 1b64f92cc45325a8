import SystemCalls

/// The web servers (nginx) allowed to connect to a TCP listening socket: libfcgi's `FCGI_WEB_SERVER_ADDRS`.
///
/// libfcgi 2.4.2 checks every IPv4 connection it accepts against this list (an exact address match, `inet_addr`) and
/// closes any other without reading from it; an unset or empty list lets everyone in. Unix sockets are never checked
/// (their file mode and group guard them), and neither are IPv6 connections, so IPv6 is refused here altogether.
public struct AllowedPeers: Sendable, Equatable {
    /// IPv4 addresses in dotted-quad form; empty: anyone who can reach the socket.
    public let addresses: [String]

    public static let anyone = AllowedPeers(validated: [])

    /// `addresses` must be IPv4 addresses in strict dotted-quad form: libfcgi compares single addresses (no
    /// networks), and its `inet_addr` would read `010.0.0.1` as 8.0.0.1 and `127.1` as 127.0.0.1.
    public init(_ addresses: [String]) throws(FastCGIError) {
        for address in addresses where Syscalls.ipv4Address(address) == nil {
            throw FastCGIError(.invalidPeerList, "'\(address)' is not an IPv4 address such as 10.0.0.2 (one address each: libfcgi compares addresses, not networks)")
        }
        self.init(validated: addresses)
    }

    private init(validated addresses: [String]) {
        self.addresses = addresses
    }

    /// Whether a socket bound to `address` may be served under this list: every interface needs a list, since
    /// FastCGI has no authentication; IPv6 is not checked by libfcgi; a unix socket is not checked either, so a list
    /// given for one would protect nothing.
    public func check(serving address: SocketAddress) throws(FastCGIError) {
        switch address {
        case .ipv4 where address.isWildcard && addresses.isEmpty:
            throw FastCGIError(.peerListRequired, "listening on every interface (\(address)) needs the addresses of the web servers allowed to connect: FastCGI has no authentication")
        case .ipv4:
            return
        case .ipv6:
            throw FastCGIError(.peerListRequired, "IPv6 sockets (\(address)) are not supported: libfcgi checks the peers of IPv4 connections only; listen on an IPv4 address")
        case .unix, .other:
            guard addresses.isEmpty else {
                throw FastCGIError(.invalidPeerList, "an allow list of web server addresses applies to TCP sockets only, not to \(address)")
            }
        }
    }
}
