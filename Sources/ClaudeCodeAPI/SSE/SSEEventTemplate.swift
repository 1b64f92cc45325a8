/// An SSE event that is the same from one event to the next but for one string (and at most one integer), such as a
/// text delta: rendered once, the usual way, with markers in those places, and cut into the constant bytes around them.
/// Each event is then those bytes with the string quoted (`JSONStringLiteral`) and the integer in decimal between
/// them: the bytes the usual rendering would have produced, without building or encoding a JSON object per event.
struct SSEEventTemplate {
    /// Put where the string goes, as a string value.
    static let textMarker = "\u{1}cca:text\u{1}"
    /// Put where the integer goes, as a string value.
    static let integerMarker = "\u{1}cca:integer\u{1}"

    private enum Layout { case textOnly, textThenInteger, integerThenText }

    private let layout: Layout
    private let head: [UInt8]
    private let middle: [UInt8]
    private let tail: [UInt8]

    /// `event`: the framed event (`SSEEncoder.data` or `.event`) rendered with `textMarker` once and `integerMarker` at
    /// most once. Nil if the markers are not found exactly so.
    init?(rendered event: [UInt8]) {
        let text = Self.quoted(Self.textMarker)
        let integer = Self.quoted(Self.integerMarker)
        guard let textRange = Self.onlyRange(of: text, in: event) else { return nil }
        guard let integerRange = Self.onlyRange(of: integer, in: event) else {
            if event.firstRange(of: integer) != nil { return nil }
            layout = .textOnly
            head = Array(event[..<textRange.lowerBound])
            middle = []
            tail = Array(event[textRange.upperBound...])
            return
        }
        let (first, second) = textRange.lowerBound < integerRange.lowerBound ? (textRange, integerRange) : (integerRange, textRange)
        layout = first == textRange ? .textThenInteger : .integerThenText
        head = Array(event[..<first.lowerBound])
        middle = Array(event[first.upperBound..<second.lowerBound])
        tail = Array(event[second.upperBound...])
    }

    /// The event for `text` (and `integer`, when the template has a place for one).
    func render(text: String, integer: Int = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(head.count + middle.count + tail.count + text.utf8.count + 24)
        bytes += head
        switch layout {
        case .textOnly:
            JSONStringLiteral.append(text, to: &bytes)
        case .textThenInteger:
            JSONStringLiteral.append(text, to: &bytes)
            bytes += middle
            Self.appendDecimal(integer, to: &bytes)
        case .integerThenText:
            Self.appendDecimal(integer, to: &bytes)
            bytes += middle
            JSONStringLiteral.append(text, to: &bytes)
        }
        bytes += tail
        return bytes
    }

    private static func quoted(_ marker: String) -> [UInt8] {
        var bytes: [UInt8] = []
        JSONStringLiteral.append(marker, to: &bytes)
        return bytes
    }

    private static func onlyRange(of marker: [UInt8], in bytes: [UInt8]) -> Range<Int>? {
        guard let range = bytes.firstRange(of: marker), bytes[range.upperBound...].firstRange(of: marker) == nil else { return nil }
        return range
    }

    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        bytes += String(value).utf8  // a small string: no allocation
    }
}
