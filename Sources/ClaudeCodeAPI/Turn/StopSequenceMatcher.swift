/// Applies stop sequences to streamed text, since the CLI cannot pass them upstream.
/// Text that could be the start of a stop sequence is held back until it is known not to be one;
/// the first complete stop sequence ends the output (it is not included, as with OpenAI).
struct StopSequenceMatcher {
    private let stops: [[Unicode.Scalar]]
    private var held: [Unicode.Scalar] = []
    /// The stop sequence that ended the output, once one has.
    private(set) var matchedSequence: String?
    var isStopped: Bool { matchedSequence != nil }

    init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) }
    }

    var isActive: Bool { !stops.isEmpty }

    /// Feeds text; returns what may be shown now. After a stop sequence, returns "" for ever.
    mutating func feed(_ text: String) -> String {
        guard !isStopped else { return "" }
        guard isActive else { return text }
        let buffer = held + Array(text.unicodeScalars)
        if let (cut, stop) = firstStop(in: buffer) {
            matchedSequence = String(String.UnicodeScalarView(stop))
            held = []
            return String(String.UnicodeScalarView(buffer[..<cut]))
        }
        let keep = longestSuffixThatStartsAStop(buffer)
        held = Array(buffer[(buffer.count - keep)...])
        return String(String.UnicodeScalarView(buffer[..<(buffer.count - keep)]))
    }

    /// The end of the output: what was held back is not a stop sequence after all.
    mutating func finish() -> String {
        defer { held = [] }
        return isStopped ? "" : String(String.UnicodeScalarView(held))
    }

    /// The earliest complete stop sequence in `buffer`: where it starts, and which it is.
    private func firstStop(in buffer: [Unicode.Scalar]) -> (Int, [Unicode.Scalar])? {
        var earliest: (Int, [Unicode.Scalar])?
        for stop in stops where stop.count <= buffer.count {
            for start in 0...(buffer.count - stop.count) where earliest.map({ start < $0.0 }) ?? true {
                if buffer[start..<(start + stop.count)].elementsEqual(stop) {
                    earliest = (start, stop)
                    break
                }
            }
        }
        return earliest
    }

    private func longestSuffixThatStartsAStop(_ buffer: [Unicode.Scalar]) -> Int {
        var longest = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, buffer.count), to: longest, by: -1) {
                if buffer.suffix(length).elementsEqual(stop.prefix(length)) {
                    longest = length
                    break
                }
            }
        }
        return longest
    }
}
