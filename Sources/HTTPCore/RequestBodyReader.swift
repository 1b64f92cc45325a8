/// The request body, read in pieces.
public protocol RequestBodyReader: AnyObject {
    /// Reads up to `buffer.count` bytes; 0 at the end of the body.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int
}

/// A body that passed the size limit it was read with.
public struct RequestBodyTooLarge: Error, Equatable, Sendable {
    public var limit: Int
}

extension RequestBodyReader {
    /// Reads the whole body, or throws as soon as it passes `limit` bytes (never holding more than that).
    public func readAll(limit: Int) throws(RequestBodyTooLarge) -> [UInt8] {
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(into: $0) }
            if n <= 0 { return body }
            guard body.count + n <= limit else { throw RequestBodyTooLarge(limit: limit) }
            body += chunk[..<n]
        }
    }
}

/// A body held in memory (tests, and anything already buffered).
public final class BufferedBody: RequestBodyReader {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public convenience init(_ string: String) { self.init(Array(string.utf8)) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
