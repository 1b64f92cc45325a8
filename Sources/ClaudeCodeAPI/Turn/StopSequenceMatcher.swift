/// Applies stop sequences to streamed text, since the CLI cannot pass them upstream.
/// Text that could be the start of a stop sequence is held back until it is known not to be one;
/// the first stop sequence to complete ends the output (it is not included, as with OpenAI).
///
/// Matching is linear in the output: each sequence keeps a Knuth-Morris-Pratt state (how much of it the text ends
/// with), advanced once per new character, so a hostile stream of one-character deltas costs the same per character
/// as one long delta, whatever the sequences. `comparisons` counts the character comparisons, for tests.
struct StopSequenceMatcher {
    /// The longest stop sequence accepted, in UTF-8 bytes (validation refuses longer ones).
    static let maximumSequenceBytes = 256

    private struct Sequence {
        let scalars: [Unicode.Scalar]
        /// `failure[i]`: the length of the longest proper prefix of `scalars[...i]` that is also its suffix.
        let failure: [Int]
        /// How many scalars of the sequence the text ends with now.
        var matched = 0

        init(_ text: String) {
            scalars = Array(text.unicodeScalars)
            var failure = [Int](repeating: 0, count: scalars.count)
            var k = 0
            for i in scalars.indices.dropFirst() {
                while k > 0 && scalars[i] != scalars[k] { k = failure[k - 1] }
                if scalars[i] == scalars[k] { k += 1 }
                failure[i] = k
            }
            self.failure = failure
        }
    }

    private var sequences: [Sequence]
    /// Scalars not yet shown because a sequence may be starting in them (as many as the longest partial match).
    private var held: [Unicode.Scalar] = []
    /// The stop sequence that ended the output, once one has.
    private(set) var matchedSequence: String?
    var isStopped: Bool { matchedSequence != nil }
    /// Character comparisons made so far.
    private(set) var comparisons = 0

    init(_ stops: [String]) {
        sequences = stops.filter { !$0.isEmpty }.map(Sequence.init)
    }

    var isActive: Bool { !sequences.isEmpty }

    /// Feeds text; returns what may be shown now. After a stop sequence, returns "" for ever.
    mutating func feed(_ text: String) -> String {
        guard !isStopped else { return "" }
        guard isActive else { return text }
        var shown = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            held.append(scalar)
            var longestPartial = 0
            var completed: Sequence?
            for index in sequences.indices {
                let length = Self.advance(&sequences[index], with: scalar, comparisons: &comparisons)
                if length == sequences[index].scalars.count {
                    // Of sequences completing on the same character, the longest started first.
                    if completed.map({ length > $0.scalars.count }) ?? true { completed = sequences[index] }
                } else {
                    longestPartial = max(longestPartial, length)
                }
            }
            if let completed {
                matchedSequence = String(String.UnicodeScalarView(completed.scalars))
                shown.append(contentsOf: held.dropLast(completed.scalars.count))
                held = []
                return String(shown)
            }
            // Everything older than the longest partial match can no longer be part of a sequence.
            let releasable = held.count - longestPartial
            if releasable > 0 {
                shown.append(contentsOf: held[..<releasable])
                held.removeFirst(releasable)
            }
        }
        return String(shown)
    }

    /// The end of the output: what was held back is not a stop sequence after all.
    mutating func finish() -> String {
        defer { held = [] }
        return isStopped ? "" : String(String.UnicodeScalarView(held))
    }

    /// One KMP step: the new length of the sequence's match after `scalar`.
    private static func advance(_ sequence: inout Sequence, with scalar: Unicode.Scalar, comparisons: inout Int) -> Int {
        var k = sequence.matched
        if k == sequence.scalars.count { k = sequence.failure[k - 1] }
        while true {
            comparisons += 1
            if sequence.scalars[k] == scalar { k += 1; break }
            if k == 0 { break }
            k = sequence.failure[k - 1]
        }
        sequence.matched = k
        return k
    }
}
