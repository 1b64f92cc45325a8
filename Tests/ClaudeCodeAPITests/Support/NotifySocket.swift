import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The service manager's side of sd_notify, as systemd listens: a unix datagram socket, at a path in a private
/// folder or under a name in the abstract namespace. Written against Glibc directly, not through the code it checks.
final class NotifySocket {
    /// What `$NOTIFY_SOCKET` is set to: the path, or `@name`.
    let address: String
    private let fd: Int32
    private let folder: String?

    /// A socket at a path in a fresh folder; with `abstract`, a unique name in the abstract namespace instead.
    init(abstract: Bool = false) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name: [UInt8]
        if abstract {
            folder = nil
            self.address = "@cca-notify-test-\(UUID().uuidString)"
            name = [0] + Array(self.address.utf8.dropFirst())
        } else {
            let made = NSTemporaryDirectory() + "cca-notify-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: made, withIntermediateDirectories: false)
            folder = made
            self.address = made + "/notify.sock"
            name = Array(self.address.utf8) + [0]
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + name.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
    }

    deinit {
        close(fd)
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// The next datagram, or nil when none arrives within `seconds`.
    func receive(within seconds: Double) -> String? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        guard poll(&fds, 1, Int32(seconds * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n < 0 ? nil : String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// Datagrams up to the first that satisfies `stop` (included), each within `seconds` of the one before.
    /// Fewer than asked for when one is late.
    func receive(until stop: (String) -> Bool, eachWithin seconds: Double = 5, atMost limit: Int = 1_000) -> [String] {
        var messages: [String] = []
        while messages.count < limit, let message = receive(within: seconds) {
            messages.append(message)
            if stop(message) { break }
        }
        return messages
    }
}
