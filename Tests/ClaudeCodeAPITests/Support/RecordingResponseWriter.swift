import Foundation
import HTTPCore
import Synchronization
@testable import ClaudeCodeAPI

/// The in-memory transport: a `ResponseWriter` that keeps what it is given; it can be told to fail like a vanished client.
/// Only `flushCount` may be read from another thread while a request runs.
final class RecordingResponseWriter: ResponseWriter, @unchecked Sendable {
    private(set) var status: Int?
    private(set) var headers: [HTTPHeader] = []
    private(set) var body: [UInt8] = []
    private(set) var flushes = 0
    /// Flushes so far, readable from another thread while the request runs.
    private let flushCounter = Mutex(0)
    var flushCount: Int { flushCounter.withLock { $0 } }
    private(set) var ended = false
    /// Flushes that succeed before the client "disconnects".
    var flushesBeforeDisconnect = Int.max
    var disconnectDescriptor: Int32? = nil
    var writeDeadline: UInt64?

    func writeHead(status: Int, headers: [HTTPHeader]) throws(ClientDisconnected) {
        precondition(self.status == nil, "head written twice")
        self.status = status
        self.headers = headers
    }

    func write(_ bytes: [UInt8]) throws(ClientDisconnected) {
        guard !ended else { return }
        body += bytes
    }

    /// Inside a batch, flushes wait for its end, as the FastCGI transport's do.
    private var batching = false
    private var flushOwed = false
    /// How many batches ended, and how many of them owed a flush.
    private(set) var batchesEnded = 0

    func beginBatch() { batching = true }

    func endBatch() throws(ClientDisconnected) {
        batching = false
        batchesEnded += 1
        guard flushOwed else { return }
        flushOwed = false
        try flush()
    }

    func flush() throws(ClientDisconnected) {
        guard !ended else { return }
        if batching {
            flushOwed = true
            return
        }
        flushes += 1
        flushCounter.withLock { $0 += 1 }
        if flushes > flushesBeforeDisconnect { throw ClientDisconnected() }
    }

    func end() { ended = true }

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The JSON body as a dictionary.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// The `data:` payloads of an SSE body, in order.
    var events: [String] {
        text.components(separatedBy: "\n\n").compactMap { block in
            block.hasPrefix("data: ") ? String(block.dropFirst(6)) : nil
        }
    }

    var chunks: [[String: Any]] {
        events.filter { $0 != "[DONE]" }.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:] }
    }
}
