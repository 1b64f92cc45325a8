/// Keeps the last few KiB a process wrote to stderr.
struct StderrTail {
    private var bytes: [UInt8] = []
    private let limit = 2048

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes += chunk.suffix(limit)
        if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
    }

    var text: String {
        var text = Substring(decoding: bytes, as: UTF8.self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
