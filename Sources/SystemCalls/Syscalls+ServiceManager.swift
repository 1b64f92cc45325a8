#if canImport(Glibc)
import Glibc
#endif

/// The calls systemd's two protocols need: sd_notify(3) (one datagram to the unix socket named by `$NOTIFY_SOCKET`)
/// and sd_listen_fds(3) (a listening socket inherited as fd 3, checked and kept from children).
extension Syscalls {
    /// This process's id (`LISTEN_PID` and `WATCHDOG_PID` name the process they are meant for).
    public static func processID() -> Int32 { getpid() }

    /// A unix datagram socket, close-on-exec.
    public static func unixDatagramSocket() throws(SystemError) -> Int32 {
        try retryingOnInterrupt("socket(AF_UNIX, SOCK_DGRAM)") {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
    }

    /// Sends `bytes` as one datagram to the unix socket `address`: a file path, or a name in the abstract namespace
    /// when it starts with `@` (the two forms `$NOTIFY_SOCKET` takes). Never blocks: a receiver whose queue is full
    /// makes it fail with EAGAIN, so a stalled service manager cannot stall the caller.
    public static func sendDatagram(_ fd: Int32, _ bytes: [UInt8], toUnixAddress address: String) throws(SystemError) {
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let name = Array(address.utf8)
        let abstract = name.first == UInt8(ascii: "@")
        // A path needs its terminating NUL; an abstract name is the bytes after a leading NUL, without one.
        guard !name.isEmpty, name.count + (abstract ? 0 : 1) <= MemoryLayout.size(ofValue: socketAddress.sun_path) else {
            throw SystemError("unix socket address \(address)", errno: name.isEmpty ? EINVAL : ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            raw.copyBytes(from: name)
            raw[abstract ? 0 : name.count] = 0
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let length = socklen_t(pathOffset + name.count + (abstract ? 0 : 1))
        let sent = try withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                bytes.withUnsafeBytes { raw in
                    Result { () throws(SystemError) in
                        try retryingOnInterrupt("sendto \(address)") {
                            sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), target, length)
                        }
                    }
                }
            }
        }.get()
        guard sent == bytes.count else { throw SystemError("sendto \(address): short datagram", errno: EMSGSIZE) }
    }

    /// Keeps `fd` from every program this process starts.
    public static func setCloseOnExec(_ fd: Int32) throws(SystemError) {
        let flags = try retryingOnInterrupt("fcntl(F_GETFD)") { fcntl(fd, F_GETFD) }
        _ = try retryingOnInterrupt("fcntl(F_SETFD)") { fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// Whether `fd` is a socket in the listening state (`SO_ACCEPTCONN`).
    public static func isListeningSocket(_ fd: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        let rc = try? retryingOnInterrupt("getsockopt(SO_ACCEPTCONN)") {
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length)
        }
        return rc != nil && accepting != 0
    }
}
