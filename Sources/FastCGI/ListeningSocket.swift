import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// The socket nginx connects to: a unix socket or an IPv4 TCP socket made here, or one inherited from systemd (fd 3,
/// `LISTEN_FDS`) or as fd 0 (`StandardInput=socket`, spawn-fcgi).
public struct ListeningSocket: Sendable {
    public let descriptor: Int32
    /// The unix socket file made here (removed at stop); nil for TCP and inherited sockets.
    public let path: String?
    /// What the socket is bound to.
    public let address: SocketAddress
    /// Handed over by systemd or spawn-fcgi: left as it is at stop, for the next instance.
    public let isInherited: Bool

    /// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
    static let firstSystemdDescriptor: Int32 = 3

    /// The socket systemd passes the native way (sd_listen_fds(3)): `LISTEN_PID` names this process and
    /// `LISTEN_FDS` counts the sockets from fd 3 on. nil when none was passed to this process (a `LISTEN_PID` of
    /// another process is not for us). Exactly one listening stream socket is served; it is kept from the CLIs.
    public static func activated(environment: [String: String],
                                 processID: Int32 = Syscalls.processID()) throws(FastCGIError) -> ListeningSocket? {
        guard let count = environment["LISTEN_FDS"], let pid = environment["LISTEN_PID"], Int32(pid) == processID else {
            return nil
        }
        guard count == "1" else {
            throw FastCGIError(.socketSetupFailed, "systemd passed \(count) sockets (LISTEN_FDS=\(count)); the responder serves exactly one: give the socket unit a single ListenStream=")
        }
        let fd = firstSystemdDescriptor
        guard (try? Syscalls.socketType(fd)) == Int32(SOCK_STREAM.rawValue), Syscalls.isListeningSocket(fd) else {
            throw FastCGIError(.socketSetupFailed, "fd \(fd) from systemd (LISTEN_FDS=1) is not a listening stream socket")
        }
        do { try Syscalls.setCloseOnExec(fd) } catch { throw FastCGIError(.socketSetupFailed, "\(error)") }
        let address = (try? Syscalls.localAddress(fd)) ?? .other(family: -1)
        return ListeningSocket(descriptor: fd, path: nil, address: address, isInherited: true)
    }

    /// The listening socket passed as standard input (`StandardInput=socket`, spawn-fcgi, `systemd-socket-activate --inetd`).
    public static func inherited() throws(FastCGIError) -> ListeningSocket {
        guard (try? Syscalls.socketType(0)) != nil else {
            throw FastCGIError(.socketSetupFailed, "fd 0 is not a socket: set CCA_LISTEN to a unix socket path or an IPv4 address and port, or start the responder with systemd socket activation or spawn-fcgi")
        }
        let address = (try? Syscalls.localAddress(0)) ?? .other(family: -1)
        return ListeningSocket(descriptor: 0, path: nil, address: address, isInherited: true)
    }

    /// Binds a unix socket at `path` with file mode `mode`. A stale socket file is replaced, but a live one
    /// (another instance answering on it) is left alone and reported.
    /// `group` (a name) owns the socket file when given, so that nginx's workers can connect (mode 0660).
    public static func bind(path: String, mode: Int, group: String? = nil, backlog: Int32 = 1024) throws(FastCGIError) -> ListeningSocket {
        guard path.utf8.count <= Syscalls.maximumUnixPathLength else {
            throw FastCGIError(.socketSetupFailed, "socket path too long (\(path.utf8.count) bytes, at most \(Syscalls.maximumUnixPathLength)): \(path)")
        }
        if Syscalls.isAnswering(unixPath: path) {
            throw FastCGIError(.addressInUse, "another process is already serving \(path); refusing to replace its socket")
        }
        try? Syscalls.unlink(path)

        let fd: Int32
        do { fd = try Syscalls.unixStreamSocket() } catch { throw FastCGIError(.socketSetupFailed, "\(error)") }
        do {
            // The mode is set while no one can connect yet: bind under a tight umask, then chmod, then listen.
            let previous = Syscalls.setUmask(0o177)
            defer { _ = Syscalls.setUmask(previous) }
            try Syscalls.bind(fd, unixPath: path)
            if let group { try Syscalls.changeGroup(path, to: group) }
            try Syscalls.chmod(path, mode: mode)
            try Syscalls.listen(fd, backlog: backlog)
        } catch {
            Syscalls.close(fd)
            throw FastCGIError(.socketSetupFailed, "\(error)")
        }
        return ListeningSocket(descriptor: fd, path: path, address: .unix(path: path), isInherited: false)
    }

    /// Binds a TCP socket to an IPv4 address (dotted quad; `0.0.0.0` is every interface) and port.
    /// FastCGI has no authentication: serve it with `AllowedPeers` unless only trusted hosts can reach the address.
    public static func bind(ipv4 host: String, port: UInt16, backlog: Int32 = 1024) throws(FastCGIError) -> ListeningSocket {
        let fd: Int32
        do { fd = try Syscalls.tcpStreamSocket() } catch { throw FastCGIError(.socketSetupFailed, "\(error)") }
        do {
            try Syscalls.setReuseAddress(fd)
            try Syscalls.bind(fd, ipv4: host, port: port)
            try Syscalls.listen(fd, backlog: backlog)
        } catch {
            Syscalls.close(fd)
            if error.errno == EADDRINUSE {
                throw FastCGIError(.addressInUse, "another process is already listening on \(host):\(port)")
            }
            throw FastCGIError(.socketSetupFailed, "\(error)")
        }
        // The port the kernel chose when `port` is 0.
        let bound = (try? Syscalls.localAddress(fd)) ?? .ipv4(host: host, port: port)
        return ListeningSocket(descriptor: fd, path: nil, address: bound, isInherited: false)
    }

    /// Removes the socket file at shutdown (a unix socket made here; nothing otherwise).
    public func removeFile() {
        guard let path, Syscalls.isSocket(path) else { return }
        try? Syscalls.unlink(path)
    }

    /// At shutdown, once the workers have been told to stop: a TCP socket made here stops listening, so that new
    /// connections are refused at once (nginx then tries another instance) instead of waiting in the backlog for a
    /// process that is leaving. Nothing for a unix socket (see `removeFile`) or an inherited one (systemd keeps it).
    public func stopListening() {
        guard !isInherited, case .ipv4 = address else { return }
        try? Syscalls.stopListening(descriptor)
    }
}
