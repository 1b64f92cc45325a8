import HTTPCore

/// The transport's writer as a request's context uses it: headers that admission learns while the request runs (a
/// key's `x-ratelimit-*`) go on whatever head goes out (success, error, stream; a header the response sets itself
/// wins), and actions wait for the response's end (a key's place is free once the client has its answer, not once
/// the CLI has exited).
final class ContextResponseWriter: ResponseWriter {
    private let base: any ResponseWriter
    private var added: [HTTPHeader] = []
    private var endActions: [() -> Void] = []

    init(_ base: any ResponseWriter) { self.base = base }

    func add(_ headers: [HTTPHeader]) { added += headers }

    /// Runs `action` when the response ends (before the transport completes it), once.
    func onEnd(_ action: @escaping () -> Void) { endActions.append(action) }

    func writeHead(status: Int, headers: [HTTPHeader]) throws(ClientDisconnected) {
        guard !added.isEmpty else { return try base.writeHead(status: status, headers: headers) }
        let own = Set(headers.map { $0.name.lowercased() })
        try base.writeHead(status: status, headers: headers + added.filter { !own.contains($0.name.lowercased()) })
    }

    func write(_ bytes: [UInt8]) throws(ClientDisconnected) { try base.write(bytes) }
    func flush() throws(ClientDisconnected) { try base.flush() }
    func beginBatch() { base.beginBatch() }
    func endBatch() throws(ClientDisconnected) { try base.endBatch() }

    func end() {
        let actions = endActions
        endActions = []
        for action in actions { action() }
        base.end()
    }

    var disconnectDescriptor: Int32? { base.disconnectDescriptor }

    var writeDeadline: UInt64? {
        get { base.writeDeadline }
        set { base.writeDeadline = newValue }
    }
}
