/// The request body, read in pieces.
public protocol RequestBodyReader {
    /// Reads up to `buffer.count` bytes; 0 at the end of the body.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> Int
}

extension RequestBodyReader {
    /// Reads the whole body, or throws `bodyTooLarge` as soon as it passes `limit`.
    public mutating func readAll(limit: Int) throws(APIError) -> [UInt8] {
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(into: $0) }
            if n <= 0 { return body }
            body += chunk[..<n]
            if body.count > limit { throw APIError.bodyTooLarge(limit: limit) }
        }
    }
}

/// A body held in memory (tests, and anything already buffered).
public struct BufferedBody: RequestBodyReader {
    private var bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
