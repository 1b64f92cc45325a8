import SystemCalls

/// The socket nginx connects to: a unix socket made here, or one inherited as fd 0 (systemd, spawn-fcgi).
public struct ListeningSocket: Sendable {
    public let descriptor: Int32
    public let path: String?

    /// The listening socket passed as standard input.
    public static func inherited() throws(FastCGIError) -> ListeningSocket {
        guard (try? Syscalls.socketType(0)) != nil else {
            throw FastCGIError(.socketSetupFailed, "fd 0 is not a socket: set CCA_LISTEN to a unix socket path, or start the responder with systemd socket activation or spawn-fcgi")
        }
        return ListeningSocket(descriptor: 0, path: nil)
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
        return ListeningSocket(descriptor: fd, path: path)
    }

    /// Removes the socket file at shutdown.
    public func removeFile() {
        guard let path, Syscalls.isSocket(path) else { return }
        try? Syscalls.unlink(path)
    }
}
