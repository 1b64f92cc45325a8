import SystemCalls

/// systemd's notification protocol (sd_notify(3)) written directly: each message is one datagram of `NAME=value`
/// lines sent to the unix socket `$NOTIFY_SOCKET` names (a path, or `@name` in the abstract namespace).
/// Without `$NOTIFY_SOCKET` (not started by systemd as `Type=notify`) there is no one to tell and nothing is sent.
public final class ServiceNotifier: Sendable {
    /// `$NOTIFY_SOCKET`, when set.
    public let address: String?
    private let descriptor: Int32?

    public init(environment: [String: String]) {
        let address = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        self.address = address
        descriptor = address == nil ? nil : try? Syscalls.unixDatagramSocket()
    }

    deinit {
        if let descriptor { Syscalls.close(descriptor) }
    }

    /// Whether a service manager listens.
    public var isEnabled: Bool { descriptor != nil }

    /// Sends one message: the fields in order, one `NAME=value` line each. A value cannot hold a line break
    /// (it would start a field of its own), so line breaks become spaces. True when the datagram was sent;
    /// false when it could not be, or when no one listens.
    @discardableResult
    public func send(_ fields: KeyValuePairs<String, String>) -> Bool {
        guard let descriptor, let address else { return false }
        let text = fields.map { name, value in
            "\(name)=\(value.map { $0.isNewline ? " " : String($0) }.joined())"
        }.joined(separator: "\n")
        do {
            try Syscalls.sendDatagram(descriptor, Array(text.utf8), toUnixAddress: address)
            return true
        } catch {
            return false
        }
    }
}
