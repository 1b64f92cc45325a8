/// What a stream socket is bound to, in the terms the service uses: a unix socket file, or an IP address and port.
public enum SocketAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    /// An IPv4 address in dotted-quad form; `0.0.0.0` is every interface.
    case ipv4(host: String, port: UInt16)
    case ipv6(host: String, port: UInt16)
    /// Any other address family (its `AF_` number).
    case other(family: Int32)

    /// Every interface: `0.0.0.0` or `::`.
    public var isWildcard: Bool {
        switch self {
        case .ipv4(let host, _): return host == "0.0.0.0"
        case .ipv6(let host, _): return host == "::"
        case .unix, .other: return false
        }
    }

    /// An address only this machine can reach: `127.0.0.0/8` or `::1`.
    public var isLoopback: Bool {
        switch self {
        case .ipv4(let host, _): return host.hasPrefix("127.")
        case .ipv6(let host, _): return host == "::1"
        case .unix, .other: return false
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): return path
        case .ipv4(let host, let port): return "\(host):\(port)"
        case .ipv6(let host, let port): return "[\(host)]:\(port)"
        case .other(let family): return "address family \(family)"
        }
    }
}
