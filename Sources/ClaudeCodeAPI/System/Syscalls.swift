import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// Every system call the library makes, wrapped once: retried on EINTR, failures turned into `SystemError`.
public enum Syscalls {
    /// Creates a pipe whose both ends are close-on-exec.
    public static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard CSystemShims_pipe_cloexec(&fds) == 0 else { throw SystemError("pipe2") }
        return (fds[0], fds[1])
    }

    public static func setNonBlocking(_ fd: Int32) throws {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SystemError("fcntl") }
    }

    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)  // never retried: on Linux the descriptor is gone even on EINTR
    }

    /// Reads up to `count` bytes. Returns nil when the call would block, an empty array at end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            default: throw SystemError("read")
            }
        }
    }

    /// Writes what it can. Returns the number of bytes written, 0 when the call would block.
    public static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN: return 0
            default: throw SystemError("write")
            }
        }
    }

    /// Writes every byte to a blocking descriptor.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = try write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
                offset += n
            }
        }
    }

    /// poll(2), restarted on EINTR with the same timeout. Returns the number of ready descriptors.
    @discardableResult
    public static func poll(_ fds: inout [pollfd], timeoutMilliseconds: Int32) throws -> Int {
        while true {
            let n = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
            if n >= 0 { return Int(n) }
            if errno == EINTR { continue }
            throw SystemError("poll")
        }
    }

    /// Sends `signal` to every process of the group. A group that is already gone is not an error.
    public static func killProcessGroup(_ pgid: pid_t, signal: Int32) {
        guard pgid > 1 else { return }
        _ = Glibc.kill(-pgid, signal)
    }

    /// Whether the child has exited, without reaping it (its pid, and so its group id, stay reserved).
    public static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        while true {
            let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if rc == 0 { return info._sifields._sigchld.si_pid == pid }
            if errno == EINTR { continue }
            return true  // ECHILD: nothing left to wait for
        }
    }

    /// Reaps the child, blocking until it exits. Returns its wait status.
    @discardableResult
    public static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return status
    }

    /// Whether the other end of a connected socket has closed (checked without reading or blocking).
    public static func peerHasHungUp(_ fd: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: pollPeerHangUp, revents: 0)]
        guard (try? poll(&fds, timeoutMilliseconds: 0)) ?? 0 > 0 else { return false }
        return fds[0].revents & (pollPeerHangUp | Int16(POLLHUP | POLLERR | POLLNVAL)) != 0
    }

    /// POLLRDHUP, which Glibc's Swift module does not export.
    public static let pollPeerHangUp = CSystemShims_POLLRDHUP

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

    /// Bytes an unprivileged process may still write on the file system holding `path`.
    public static func availableBytes(at path: String) throws -> UInt64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw SystemError("statvfs \(path)") }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// Makes a private folder (mode 0700) named from `template`'s prefix and six random characters.
    public static func makeTemporaryDirectory(in parent: String, prefix: String) throws -> String {
        var template = Array("\(parent)/\(prefix)XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw SystemError("mkdtemp")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Int32 {
    /// The exit description of a wait status: "exit 3" or "signal 9".
    public var waitStatusDescription: String {
        let signal = self & 0x7f
        if signal == 0 { return "exit \((self >> 8) & 0xff)" }
        return "signal \(signal)"
    }
}
