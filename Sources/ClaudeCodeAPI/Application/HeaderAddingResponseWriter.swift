import HTTPCore

/// The transport's writer, with headers that admission learns while a request runs (a key's `x-ratelimit-*`) added to
/// whatever head goes out: a success, an error, a stream. A header the response sets itself wins.
final class HeaderAddingResponseWriter: ResponseWriter {
    private let base: any ResponseWriter
    private var added: [HTTPHeader] = []

    init(_ base: any ResponseWriter) { self.base = base }

    func add(_ headers: [HTTPHeader]) { added += headers }

    func writeHead(status: Int, headers: [HTTPHeader]) throws(ClientDisconnected) {
        guard !added.isEmpty else { return try base.writeHead(status: status, headers: headers) }
        let own = Set(headers.map { $0.name.lowercased() })
        try base.writeHead(status: status, headers: headers + added.filter { !own.contains($0.name.lowercased()) })
    }

    func write(_ bytes: [UInt8]) throws(ClientDisconnected) { try base.write(bytes) }
    func flush() throws(ClientDisconnected) { try base.flush() }
    func end() { base.end() }
    var disconnectDescriptor: Int32? { base.disconnectDescriptor }
}
