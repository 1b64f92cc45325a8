/// Cuts a byte stream into newline-terminated lines, however the bytes arrive.
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []
    /// Longest line kept; a longer one is dropped whole and counted in `droppedLines`.
    public let maximumLineLength: Int
    public private(set) var droppedLines = 0
    private var discarding = false

    public init(maximumLineLength: Int = 64 << 20) {
        self.maximumLineLength = maximumLineLength
    }

    /// Feeds bytes and calls `body` with each complete line (without its newline).
    public mutating func append(_ bytes: UnsafeRawBufferPointer, _ body: (ArraySlice<UInt8>) throws -> Void) rethrows {
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if discarding {
                discarding = false
            } else if pending.isEmpty {
                try body(ArraySlice(bytes[start..<newline]))
            } else {
                pending.append(contentsOf: bytes[start..<newline])
                // The line takes the buffer with it: a long line (a whole answer in an `assistant` or `result` event)
                // leaves no buffer of its size behind for the rest of the turn.
                var line: [UInt8] = []
                swap(&line, &pending)
                try body(line[...])
            }
            start = newline + 1
        }
        guard !discarding else { return }
        pending.append(contentsOf: bytes[start...])
        if pending.count > maximumLineLength {
            pending.removeAll()
            discarding = true
            droppedLines += 1
        }
    }

    /// What is left after end of file: a last line without a newline (often a cut-off one).
    public mutating func finish() -> ArraySlice<UInt8>? {
        defer { pending.removeAll() }
        return pending.isEmpty || discarding ? nil : pending[...]
    }
}
