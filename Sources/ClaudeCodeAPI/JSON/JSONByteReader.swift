/// A cursor over the bytes of one compact JSON document, for recognising a known line shape without building a tree.
/// Strict where JSON is strict: every method that reads something returns nil (or false) at the first byte it does
/// not accept, so that a caller can fall back to a full decoder for anything out of the ordinary.
struct JSONByteReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    /// Consumes `literal` if the bytes continue with exactly it.
    mutating func consume(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - offset >= count else { return false }
        let matches = literal.withUTF8Buffer { expected in equal(expected, at: offset) }
        if matches { offset += count }
        return matches
    }

    /// Consumes one byte if it is `byte`.
    mutating func consume(byte: UInt8) -> Bool {
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    /// A non-negative integer without leading zeros, of at most 15 digits (always an `Int`).
    mutating func readSmallInteger() -> Int? {
        var value = 0
        var digits = 0
        while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) {
            if digits == 1 && value == 0 { return nil }  // a leading zero
            value = value * 10 + Int(bytes[offset] - UInt8(ascii: "0"))
            digits += 1
            offset += 1
            if digits > 15 { return nil }
        }
        return digits == 0 ? nil : value
    }

    /// A string value (the cursor on its opening quote), unescaped. Nil for anything a strict reader refuses: a raw
    /// control character, an unknown escape, a lone surrogate, bytes that are not UTF-8.
    mutating func readString() -> String? {
        guard consume(byte: UInt8(ascii: "\"")) else { return nil }
        switch scanPlainRun() {
        case .closed(let range)?:
            // The common case: no escape, the text is the bytes as they are.
            return String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        case .escaped(let start)?:
            var unescaped = Array(bytes[start..<offset])
            while offset < bytes.count {
                let byte = bytes[offset]
                offset += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: unescaped, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard appendEscape(to: &unescaped) else { return nil }
                case ..<0x20:
                    return nil
                default:
                    unescaped.append(byte)
                }
            }
            return nil
        case nil:
            return nil
        }
    }

    /// Passes over a string value, as strictly as `readString` reads one.
    mutating func skipString() -> Bool {
        readString() != nil
    }

    /// A member name without escapes (the cursor on its opening quote), as raw bytes; nil for one with escapes.
    mutating func readPlainName() -> UnsafeRawBufferPointer? {
        guard consume(byte: UInt8(ascii: "\"")), case .closed(let range)? = scanPlainRun() else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: bytes[range])
        return String(validating: name, as: UTF8.self) == nil ? nil : name
    }

    /// How the bytes after a string's opening quote begin.
    private enum PlainRun {
        /// The closing quote came before any escape: the string's bytes (the cursor is past the quote).
        case closed(Range<Int>)
        /// A backslash came first: the bytes from `start` up to the cursor, which is on the backslash, need none.
        case escaped(start: Int)
    }

    /// Moves over the string's bytes that need no unescaping; nil at a raw control character or the end of the line.
    private mutating func scanPlainRun() -> PlainRun? {
        let start = offset
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return .closed(start..<(offset - 1))
            }
            if byte == UInt8(ascii: "\\") { return .escaped(start: start) }
            if byte < 0x20 { return nil }
            offset += 1
        }
        return nil
    }

    /// Passes over a scalar value that is a string, `null`, `true` or `false`; false for anything else.
    mutating func skipStringOrLiteral() -> Bool {
        guard offset < bytes.count else { return false }
        switch bytes[offset] {
        case UInt8(ascii: "\""): return skipString()
        case UInt8(ascii: "n"): return consume("null")
        case UInt8(ascii: "t"): return consume("true")
        case UInt8(ascii: "f"): return consume("false")
        default: return false
        }
    }

    /// One escape after its backslash, appended as UTF-8.
    private mutating func appendEscape(to output: inout [UInt8]) -> Bool {
        guard offset < bytes.count else { return false }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            guard let unit = readHexUnit() else { return false }
            var scalarValue = UInt32(unit)
            if (0xD800..<0xDC00).contains(unit) {
                // A high surrogate: only as the first half of a pair.
                guard consume("\\u"), let low = readHexUnit(), (0xDC00..<0xE000).contains(low) else { return false }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00..<0xE000).contains(unit) {
                return false  // a low surrogate alone
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { return false }
            output.append(contentsOf: UTF8.encode(scalar)!)
        default:
            return false
        }
        return true
    }

    private mutating func readHexUnit() -> UInt16? {
        guard bytes.count - offset >= 4 else { return nil }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
            offset += 1
        }
        return value
    }

    private func equal(_ expected: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
        for index in 0..<expected.count where bytes[position + index] != expected[index] { return false }
        return true
    }
}
