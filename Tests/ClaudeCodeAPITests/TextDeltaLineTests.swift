import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("Reading text delta lines in place, as the full decoder would")
struct TextDeltaLineTests {
    static let head = #"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"#
    static let tail = #"}},"session_id":"9d6ea14e-7081-4c8c-9496-0379d28bcba2","parent_tool_use_id":null,"uuid":"35a40361-593c-4ad2-9add-b21edbc3f83b","api_message_id":"msg_mock_f8dae53db7044ef78200"}"#

    static func line(quotedText: String, index: Int = 0) -> [UInt8] {
        Array((head.replacingOccurrences(of: #""index":0"#, with: #""index":\#(index)"#) + quotedText + tail).utf8)
    }

    static func fastPath(_ line: [UInt8]) -> CLIEvent? {
        line.withUnsafeBytes { TextDeltaLine.event(in: $0) }
    }

    static func fullDecoder(_ line: [UInt8]) -> CLIEvent? {
        try? CLIEventDecoder().decodeInFull(line: line)
    }

    @Test("every text delta of the real recordings takes the fast path, and every line decodes as in full",
          arguments: CLIEventDecoderTests.recordings)
    func recordedLinesDecodeAsInFull(_ name: String) throws {
        for line in Fixtures.lines(name) {
            let full = try CLIEventDecoder().decodeInFull(line: line)
            #expect(try CLIEventDecoder().decode(line: line) == full)
            if case .textDelta = full {
                #expect(Self.fastPath(line) == full, "\(name): \(String(decoding: line, as: UTF8.self))")
            } else {
                #expect(Self.fastPath(line) == nil)
            }
        }
    }

    static let trickyTexts = [
        "", "plain", "with \"quotes\" and \\backslashes\\", "new\nline, tab\t, return\r, form\u{0C}feed, back\u{08}space",
        "nul \u{0} and unit separator \u{1F} and delete \u{7F}", "slash / and \\/", "é à ü ß", "日本語のテキスト",
        "emoji 😀👍🏽 and flags 🇫🇷", "line separator \u{2028} paragraph \u{2029}", "BOM \u{FEFF}", "𝄞 (G clef, outside the BMP)",
        "combining e\u{301}", String(repeating: "long ", count: 2_000),
    ]

    @Test("escapes, non-ASCII text and surrogate pairs are read as the full decoder reads them", arguments: trickyTexts)
    func trickyTextsMatchTheFullDecoder(_ text: String) throws {
        // The same text three ways: Foundation's escaping, everything non-ASCII as \u escapes, and every character escaped.
        let foundation = String(decoding: try JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed]), as: UTF8.self)
        let viaFoundation = String(foundation.dropFirst().dropLast())
        let asciiOnly = "\"" + text.utf16.map { unit in
            switch unit {
            case 0x22: #"\""#
            case 0x5C: #"\\"#
            case 0x20..<0x7F: String(UnicodeScalar(UInt8(unit)))
            default: String(format: "\\u%04X", unit)
            }
        }.joined() + "\""
        let allEscaped = "\"" + text.utf16.map { String(format: "\\u%04x", $0) }.joined() + "\""
        for quoted in [viaFoundation, asciiOnly, allEscaped] {
            let line = Self.line(quotedText: quoted)
            let fast = try #require(Self.fastPath(line), "\(quoted)")
            #expect(fast == .textDelta(index: 0, text: text))
            #expect(fast == Self.fullDecoder(line))
        }
    }

    static let linesForTheFullDecoder: [(String, [UInt8])] = [
        ("a lone high surrogate", line(quotedText: #""\ud83d""#)),
        ("a lone low surrogate", line(quotedText: #""\ude00""#)),
        ("a high surrogate before a non-surrogate", line(quotedText: #""\ud83d\u0041""#)),
        ("an unknown escape", line(quotedText: #""\x41""#)),
        ("a short \\u escape", line(quotedText: #""\u41""#)),
        ("a raw control character", line(quotedText: "\"a\u{01}b\"")),
        ("a raw newline", line(quotedText: "\"a\nb\"")),
        ("bytes that are not UTF-8", Array(head.utf8) + [0x22, 0xFF, 0xFE, 0x22] + Array(tail.utf8)),
        ("an encoded surrogate", Array(head.utf8) + [0x22, 0xED, 0xA0, 0x80, 0x22] + Array(tail.utf8)),
        ("a leading zero in the index", line(quotedText: #""x""#).replacing(Array(#""index":0"#.utf8), with: Array(#""index":01"#.utf8))),
        ("an index too large for the fast path", line(quotedText: #""x""#, index: 1_234_567_890_123_456)),
        ("a second type member", Array((head + #""x""# + #"}},"type":"assistant"}"#).utf8)),
        ("a second event member", Array((head + #""x""# + #"}},"event":{"type":"message_stop"}}"#).utf8)),
        ("a number among the trailing members", Array((head + #""x""# + #"}},"n":1}"#).utf8)),
        ("an object among the trailing members", Array((head + #""x""# + #"}},"o":{}}"#).utf8)),
        ("an escaped member name", Array((head + #""x""# + #"}},"typ\u0065":"assistant"}"#).utf8)),
        ("whitespace after the object", line(quotedText: #""x""#) + [0x20]),
        ("a carriage return after the object", line(quotedText: #""x""#) + [0x0D]),
        ("a truncated line", Array(line(quotedText: #""x""#).dropLast())),
        ("a truncated text", Array((head + #""abc"#).utf8)),
        ("trailing bytes", line(quotedText: #""x""#) + Array("{}".utf8)),
        ("more members in the delta", Array((head + #""x","extra":1}}}"#).utf8)),
        ("more members in the event", Array((head + #""x"},"extra":1}}"#).utf8)),
        ("a thinking delta", Array(head.replacingOccurrences(of: "text_delta", with: "thinking_delta").utf8) + Array(#""x"}}}"#.utf8)),
        ("spaces between members", Array(#"{"type": "stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}}"#.utf8)),
    ]

    @Test("unusual lines are left to the full decoder", arguments: linesForTheFullDecoder)
    func unusualLinesFallBack(_ description: String, _ line: [UInt8]) throws {
        #expect(Self.fastPath(line) == nil, "\(description)")
        #expect((try? CLIEventDecoder().decode(line: line)) == Self.fullDecoder(line), "\(description)")
    }

    @Test("the smallest line of the shape, and a last member that is a literal, take the fast path")
    func minimalLines() throws {
        let minimal = Array((Self.head + #""hi"}}}"#).utf8)
        #expect(Self.fastPath(minimal) == .textDelta(index: 0, text: "hi"))
        #expect(Self.fullDecoder(minimal) == .textDelta(index: 0, text: "hi"))
        let literals = Array((Self.head + #""hi"}},"a":true,"b":false,"c":null,"d":"\"}"}"#).utf8)
        #expect(Self.fastPath(literals) == .textDelta(index: 0, text: "hi"))
        #expect(Self.fullDecoder(literals) == .textDelta(index: 0, text: "hi"))
        let index = Self.line(quotedText: #""x""#, index: 12)
        #expect(Self.fastPath(index) == .textDelta(index: 12, text: "x"))
    }

    @Test("whatever one byte of a real text delta line is changed to, the fast path answers as the full decoder or not at all")
    func everySingleByteChangeAgreesWithTheFullDecoder() throws {
        let original = Self.line(quotedText: #""a\"b\\c\u00e9\ud83d\ude00""#)
        var fastAnswers = 0
        for position in original.indices {
            var variants: [[UInt8]] = [Array(original[..<position] + original[(position + 1)...])]
            for replacement in Array(#"" \{}[],:0a\"#.utf8) + [0x01, 0xC3, 0xFF] where replacement != original[position] {
                var changed = original
                changed[position] = replacement
                variants.append(changed)
            }
            for variant in variants {
                guard let fast = Self.fastPath(variant) else { continue }
                fastAnswers += 1
                #expect(fast == Self.fullDecoder(variant), "\(String(decoding: variant, as: UTF8.self))")
            }
        }
        #expect(fastAnswers > 100)  // the test exercises the fast path, not only its refusals
    }
}

private extension Array where Element == UInt8 {
    func replacing(_ old: [UInt8], with new: [UInt8]) -> [UInt8] {
        guard let range = firstRange(of: old) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: new)
        return copy
    }
}
