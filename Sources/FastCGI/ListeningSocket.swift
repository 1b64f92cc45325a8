import ClaudeCodeAPI
#if canImport(Glibc)
import Glibc
#endif

/// The socket nginx connects to: a unix socket made here, or one inherited as fd 0 (systemd, spawn-fcgi).
public struct ListeningSocket: Sendable {
    public let descriptor: Int32
    public let path: String?

    /// The listening socket passed as standard input.
    public static func inherited() throws(FastCGIError) -> ListeningSocket {
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else {
            throw FastCGIError(.socketSetupFailed, "fd 0 is not a socket: set CCA_LISTEN to a unix socket path, or start the responder with systemd socket activation or spawn-fcgi")
        }
        return ListeningSocket(descriptor: 0, path: nil)
    }

    /// Binds a unix socket at `path` with file mode `mode`. A stale socket file is replaced, but a live one
    /// (another instance answering on it) is left alone and reported.
    /// `group` (a name) owns the socket file when given, so that nginx's workers can connect (mode 0660).
    public static func bind(path: String, mode: Int, group: String? = nil, backlog: Int32 = 1024) throws(FastCGIError) -> ListeningSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw FastCGIError(.socketSetupFailed, "socket path too long (\(path.utf8.count) bytes, at most \(capacity - 1)): \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)

        if isAnswering(&address, length: length) {
            throw FastCGIError(.addressInUse, "another process is already serving \(path); refusing to replace its socket")
        }
        unlink(path)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FastCGIError(.socketSetupFailed, "\(SystemError("socket"))") }
        // The mode is set while no one can connect yet: bind under a tight umask, then chmod, then listen.
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        umask(previous)
        guard bound == 0 else {
            let error = SystemError("bind \(path)")
            Syscalls.close(fd)
            throw FastCGIError(.socketSetupFailed, "\(error)")
        }
        if let group {
            guard let entry = getgrnam(group), chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                Syscalls.close(fd)
                throw FastCGIError(.socketSetupFailed, "cannot give \(path) to group '\(group)'")
            }
        }
        guard chmod(path, mode_t(mode)) == 0, listen(fd, backlog) == 0 else {
            let error = SystemError("chmod/listen \(path)")
            Syscalls.close(fd)
            throw FastCGIError(.socketSetupFailed, "\(error)")
        }
        return ListeningSocket(descriptor: fd, path: path)
    }

    /// Removes the socket file at shutdown.
    public func removeFile() {
        guard let path else { return }
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
    }

    private static func isAnswering(_ address: inout sockaddr_un, length: socklen_t) -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { Syscalls.close(probe) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, length) == 0 }
        }
    }
}
