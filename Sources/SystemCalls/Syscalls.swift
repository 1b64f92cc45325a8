import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// Every system call the service makes, wrapped once (the shape of swift-nio's `System.swift`): each one is retried
/// on EINTR by the same helper, a failure becomes a typed `SystemError`, and a call on a non-blocking descriptor that
/// would block says so as `IOResult.wouldBlock`, never as a magic value.
public enum Syscalls {
    // MARK: The two helpers every wrapper goes through

    /// Runs `body` until it does not fail with EINTR. `-1` is the failure value of every call wrapped here.
    @inline(__always)
    static func retryingOnInterrupt<Result: FixedWidthInteger>(_ call: @autoclosure () -> String,
                                                               _ body: () -> Result) throws(SystemError) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(call(), errno: code)
        }
    }

    /// The same for non-blocking descriptors: EAGAIN becomes `.wouldBlock`.
    @inline(__always)
    static func retryingOnInterruptUnlessBlocked<Result: FixedWidthInteger>(_ call: @autoclosure () -> String,
                                                                           _ body: () -> Result) throws(SystemError) -> IOResult<Result> {
        while true {
            let result = body()
            if result != -1 { return .processed(result) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw SystemError(call(), errno: code)
        }
    }

    // MARK: Descriptors

    /// Creates a pipe whose both ends are close-on-exec.
    public static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try retryingOnInterrupt("pipe2") { CSystemShims_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    public static func setNonBlocking(_ fd: Int32) throws(SystemError) {
        let flags = try retryingOnInterrupt("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        _ = try retryingOnInterrupt("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Never retried: on Linux the descriptor is released even when close reports EINTR.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Reads up to `buffer.count` bytes: `.processed(0)` at end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try retryingOnInterruptUnlessBlocked("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes what the descriptor takes now.
    public static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try retryingOnInterruptUnlessBlocked("write") { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes every byte to a blocking descriptor (a pipe of our own, stderr).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let result = try bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) in try write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }.get()
            switch result {
            case .processed(let n): offset += n
            case .wouldBlock: try waitUntilWritable(fd)
            }
        }
    }

    private static func waitUntilWritable(_ fd: Int32) throws(SystemError) {
        var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
        try poll(&fds, timeoutMilliseconds: -1)
    }

    /// poll(2), restarted on EINTR with the same timeout. Returns the number of ready descriptors.
    @discardableResult
    public static func poll(_ fds: inout [pollfd], timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        let count = nfds_t(fds.count)
        let ready = try fds.withUnsafeMutableBufferPointer { buffer in
            Result { () throws(SystemError) in try retryingOnInterrupt("poll") { Glibc.poll(buffer.baseAddress, count, timeoutMilliseconds) } }
        }.get()
        return Int(ready)
    }

    /// Whether the other end of a connected socket has closed (checked without reading or blocking).
    public static func peerHasHungUp(_ fd: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: pollPeerHangUp, revents: 0)]
        guard ((try? poll(&fds, timeoutMilliseconds: 0)) ?? 0) > 0 else { return false }
        return fds[0].revents & hangUpEvents != 0
    }

    /// POLLRDHUP, which Glibc's Swift module does not export.
    public static let pollPeerHangUp = CSystemShims_POLLRDHUP
    /// Every `revents` bit that means the peer is gone.
    public static let hangUpEvents = CSystemShims_POLLRDHUP | Int16(POLLHUP | POLLERR | POLLNVAL)

    // MARK: Sockets

    /// A unix stream socket, close-on-exec.
    public static func unixStreamSocket() throws(SystemError) -> Int32 {
        try retryingOnInterrupt("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
    }

    /// The longest unix socket path (bytes, without the terminating NUL).
    public static var maximumUnixPathLength: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 }

    public static func bind(_ fd: Int32, unixPath path: String) throws(SystemError) {
        try withUnixAddress(path) { address, length throws(SystemError) in
            _ = try retryingOnInterrupt("bind \(path)") { Glibc.bind(fd, address, length) }
        }
    }

    /// Whether something accepts connections on the unix socket at `path`.
    public static func isAnswering(unixPath path: String) -> Bool {
        guard let probe = try? unixStreamSocket() else { return false }
        defer { close(probe) }
        return (try? withUnixAddress(path) { address, length throws(SystemError) in
            _ = try retryingOnInterrupt("connect \(path)") { connect(probe, address, length) }
        }) != nil
    }

    public static func listen(_ fd: Int32, backlog: Int32) throws(SystemError) {
        _ = try retryingOnInterrupt("listen") { Glibc.listen(fd, backlog) }
    }

    /// Makes a blocking send on `fd` give up after `milliseconds` (SO_SNDTIMEO): it returns what it sent, or EAGAIN.
    public static func setSendTimeout(_ fd: Int32, milliseconds: Int) throws(SystemError) {
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = try retryingOnInterrupt("setsockopt(SO_SNDTIMEO)") {
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// The socket type (`SOCK_STREAM`...) of `fd`; throws ENOTSOCK for anything else.
    public static func socketType(_ fd: Int32) throws(SystemError) -> Int32 {
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try retryingOnInterrupt("getsockopt(SO_TYPE)") { getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) }
        return type
    }

    public static func tcpStreamSocket() throws(SystemError) -> Int32 {
        try retryingOnInterrupt("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
    }

    /// SO_REUSEADDR: a restarted instance can bind its port while connections of the last one are in TIME_WAIT.
    public static func setReuseAddress(_ fd: Int32) throws(SystemError) {
        var on: Int32 = 1
        _ = try retryingOnInterrupt("setsockopt(SO_REUSEADDR)") {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Binds to an IPv4 address given in dotted-quad form (see `ipv4Address`).
    public static func bind(_ fd: Int32, ipv4 host: String, port: UInt16) throws(SystemError) {
        guard let binary = ipv4Address(host) else { throw SystemError("bind \(host):\(port)", errno: EINVAL) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: binary)
        _ = try retryingOnInterrupt("bind \(host):\(port)") {
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    /// An IPv4 address in strict dotted-quad form (four decimal numbers 0-255, no leading zeros: inet_pton), in network
    /// byte order; nil for anything else (`127.1`, `0x7f.0.0.1`, `010.0.0.1`, names, networks).
    public static func ipv4Address(_ text: String) -> UInt32? {
        var binary = in_addr()
        guard inet_pton(AF_INET, text, &binary) == 1 else { return nil }
        return binary.s_addr
    }

    /// What the socket `fd` is bound to (getsockname).
    public static func localAddress(_ fd: Int32) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try retryingOnInterrupt("getsockname") {
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            switch family {
            case AF_UNIX:
                return pointer.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { unix in
                    var path = unix.pointee.sun_path
                    let text = withUnsafeBytes(of: &path) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    return .unix(path: text)
                }
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                    let host = withUnsafeBytes(of: inet.pointee.sin_addr) { presentation(AF_INET, $0, count: Int(INET_ADDRSTRLEN)) }
                    return .ipv4(host: host,
                                 port: UInt16(bigEndian: inet.pointee.sin_port))
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet6 in
                    let host = withUnsafeBytes(of: inet6.pointee.sin6_addr) { presentation(AF_INET6, $0, count: Int(INET6_ADDRSTRLEN)) }
                    return .ipv6(host: host,
                                 port: UInt16(bigEndian: inet6.pointee.sin6_port))
                }
            default:
                return .other(family: family)
            }
        }
    }

    private static func presentation(_ family: Int32, _ address: UnsafeRawBufferPointer, count: Int) -> String {
        var buffer = [CChar](repeating: 0, count: count)
        guard inet_ntop(family, address.baseAddress, &buffer, socklen_t(count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Makes a listening TCP socket stop listening without closing its descriptor (which other threads may be polling):
    /// the kernel then refuses new connections, and resets those still queued. shutdown(SHUT_RD).
    public static func stopListening(_ fd: Int32) throws(SystemError) {
        _ = try retryingOnInterrupt("shutdown") { shutdown(fd, Int32(SHUT_RD)) }
    }

    private static func withUnixAddress(_ path: String,
                                        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> Void) throws(SystemError) {
        guard path.utf8.count <= maximumUnixPathLength else { throw SystemError("unix socket path", errno: ENAMETOOLONG) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        try withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                Result { () throws(SystemError) in try body(address, length) }
            }
        }.get()
    }

    // MARK: Files

    public static func unlink(_ path: String) throws(SystemError) {
        _ = try retryingOnInterrupt("unlink \(path)") { Glibc.unlink(path) }
    }

    public static func chmod(_ path: String, mode: Int) throws(SystemError) {
        _ = try retryingOnInterrupt("chmod \(path)") { Glibc.chmod(path, mode_t(mode)) }
    }

    /// Gives `path` to `group` (a name), keeping its owner.
    public static func changeGroup(_ path: String, to group: String) throws(SystemError) {
        guard let entry = getgrnam(group) else { throw SystemError("getgrnam \(group)", errno: ENOENT) }
        let gid = entry.pointee.gr_gid
        _ = try retryingOnInterrupt("chown \(path)") { chown(path, uid_t.max, gid) }
    }

    /// Sets the file-mode creation mask and returns the previous one.
    public static func setUmask(_ mask: Int) -> Int { Int(umask(mode_t(mask))) }

    public static func isSocket(_ path: String) -> Bool { fileType(path, followingLinks: false) == S_IFSOCK }

    /// A regular file the process may execute.
    public static func isExecutableFile(_ path: String) -> Bool {
        fileType(path, followingLinks: true) == S_IFREG && access(path, X_OK) == 0
    }

    /// Whether the process may execute `path` (whatever kind of file it is).
    public static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    private static func fileType(_ path: String, followingLinks: Bool) -> mode_t? {
        var info = stat()
        let rc = followingLinks ? stat(path, &info) : lstat(path, &info)
        return rc == 0 ? info.st_mode & S_IFMT : nil
    }

    /// Bytes an unprivileged process may still write on the file system holding `path`.
    public static func availableBytes(at path: String) throws(SystemError) -> UInt64 {
        var info = statvfs()
        _ = try retryingOnInterrupt("statvfs \(path)") { statvfs(path, &info) }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// Makes a private folder (mode 0700) named `prefix` plus six random characters, inside `parent`.
    public static func makeTemporaryDirectory(in parent: String, prefix: String) throws(SystemError) -> String {
        var template = Array("\(parent)/\(prefix)XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { throw SystemError("mkdtemp \(parent)") }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The first `limit` bytes of a file (for small files such as those of /proc, whose size `stat` does not tell).
    public static func readFile(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try retryingOnInterrupt("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: limit, alignment: 1)
        defer { buffer.deallocate() }
        var filled = 0
        while filled < limit {
            let count = try retryingOnInterrupt("read \(path)") { Glibc.read(fd, buffer.baseAddress! + filled, limit - filled) }
            if count == 0 { break }
            filled += count
        }
        return Array(buffer[..<filled])
    }

    /// The names in a folder, without `.` and `..`.
    public static func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else { throw SystemError("opendir \(path)") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The size of a memory page (the unit of the resident set sizes in /proc).
    public static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    // MARK: Processes

    /// Sends `signal` to every process of the group. A group that is already gone is not an error.
    public static func killProcessGroup(_ pgid: pid_t, signal: Int32) {
        guard pgid > 1 else { return }
        _ = Glibc.kill(-pgid, signal)
    }

    /// Whether the child has exited, without reaping it (its pid, and so its group id, stay reserved).
    public static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        do {
            _ = try retryingOnInterrupt("waitid") { waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) }
            return info._sifields._sigchld.si_pid == pid
        } catch {
            return true  // ECHILD: nothing left to wait for
        }
    }

    /// Reaps the child, blocking until it exits. Returns its wait status, or nil when there is no such child.
    public static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard (try? retryingOnInterrupt("waitpid") { waitpid(pid, &status, 0) }) != nil else { return nil }
        return status
    }

    // MARK: Signals and threads

    /// Blocks `signals` in the calling thread and every thread it starts afterwards.
    public static func blockSignals(_ signals: [Int32]) {
        var set = signalSet(signals)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Restores the default disposition of `signal`.
    public static func setDefaultDisposition(_ signal: Int32) { _ = Glibc.signal(signal, SIG_DFL) }

    public static func ignore(_ signal: Int32) { _ = Glibc.signal(signal, SIG_IGN) }

    /// Allocations of at least `bytes` get pages of their own (mmap) and give them back when freed. glibc's default
    /// threshold rises to the largest block freed so far, after which such blocks come from the heap and stay
    /// resident: a long answer's lines (each holding all of its text) would leave their size behind in each arena.
    public static func setMemoryMappingThreshold(bytes: Int) { _ = CSystemShims_set_mmap_threshold(Int32(bytes)) }

    /// Installs a handler that does nothing and does not restart system calls, so that the signal only interrupts
    /// a blocked call in the thread it is sent to (EINTR).
    public static func installInterruptingHandler(_ signal: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(signal, &action, nil)
    }

    /// Waits for one of `signals` (blocked beforehand) and returns it.
    public static func waitForSignal(_ signals: [Int32]) -> Int32 {
        var set = signalSet(signals)
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    /// Sends `signal` to one thread of this process.
    public static func signalThread(_ thread: pthread_t, _ signal: Int32) { _ = pthread_kill(thread, signal) }

    public static func currentThread() -> pthread_t { pthread_self() }

    private static func signalSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    // MARK: Terminals

    /// Whether `fd` is a terminal.
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Turns the terminal's echo of typed characters off or on (for reading a secret); false when `fd` is no terminal.
    @discardableResult
    public static func setTerminalEcho(_ fd: Int32, enabled: Bool) -> Bool {
        var settings = termios()
        guard tcgetattr(fd, &settings) == 0 else { return false }
        if enabled { settings.c_lflag |= tcflag_t(ECHO) } else { settings.c_lflag &= ~tcflag_t(ECHO) }
        return (try? retryingOnInterrupt("tcsetattr") { tcsetattr(fd, TCSAFLUSH, &settings) }) != nil
    }

    // MARK: Time

    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
