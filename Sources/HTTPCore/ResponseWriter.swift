/// Where a response goes. The FastCGI transport implements it over libfcgi's stdout stream; tests record it.
public protocol ResponseWriter: AnyObject {
    /// Status line and headers; must come first, once.
    func writeHead(status: Int, headers: [HTTPHeader]) throws(ClientDisconnected)
    /// Buffers body bytes.
    func write(_ bytes: [UInt8]) throws(ClientDisconnected)
    /// Pushes everything buffered to the client (inside a batch: once the batch ends). Throws when the client is gone.
    func flush() throws(ClientDisconnected)
    /// Starts a batch: output produced together (the events of one read from a process) goes out with one flush.
    /// Until `endBatch()`, `flush()` only notes that the client is owed what has been written.
    func beginBatch()
    /// Ends the batch with the one flush it owes, if any. Throws when the client is gone.
    func endBatch() throws(ClientDisconnected)
    /// Completes the response: the client has everything once this returns. Later calls do nothing.
    func end()
    /// A descriptor that reports the client hanging up (POLLRDHUP), when the transport has one.
    var disconnectDescriptor: Int32? { get }
    /// A moment (monotonic nanoseconds, CLOCK_MONOTONIC) after which a write that is still blocked on a slow client
    /// fails as if the client had gone. The transport's own per-write limit applies as well.
    var writeDeadline: UInt64? { get set }
}

/// The client went away; the request is to be abandoned.
public struct ClientDisconnected: Error, Equatable, Sendable {
    public init() {}
}

extension ResponseWriter {
    /// A writer without batches flushes at every `flush()`: there is nothing left to do at a batch's end.
    public func beginBatch() {}
    public func endBatch() throws(ClientDisconnected) {}

    /// Sends a complete response with a body of `contentType`.
    public func respond(status: Int, contentType: String, body: [UInt8], headers: [HTTPHeader] = []) throws(ClientDisconnected) {
        try writeHead(status: status, headers: [HTTPHeader("Content-Type", contentType)] + headers)
        try write(body)
        try flush()
    }
}
