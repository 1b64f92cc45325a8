/// The CLI's most frequent line, one streamed piece of text, recognised by its exact shape without a JSON tree:
///
///     {"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"…"}},
///      "session_id":"…","parent_tool_use_id":null,"uuid":"…",…}
///
/// Anything else — another event, fields in another order, whitespace, a number or a nested value among the trailing
/// members, a second `type` or `event`, an escape a strict reader refuses — is nil, and goes to the full decoder.
/// So whenever this answers, the full decoder would have answered the same `.textDelta`; the trailing members are
/// still checked to be well-formed JSON, since the full decoder refuses a line that is not.
enum TextDeltaLine {
    static func event(in line: UnsafeRawBufferPointer) -> CLIEvent? {
        var reader = JSONByteReader(line)
        guard reader.consume(#"{"type":"stream_event","event":{"type":"content_block_delta","index":"#),
              let index = reader.readSmallInteger(),
              reader.consume(#","delta":{"type":"text_delta","text":"#),
              let text = reader.readString(),
              reader.consume("}}")
        else { return nil }
        // The rest of the line's object: members the decoder ignores, but which must not redefine `type` or `event`.
        while !reader.consume(byte: UInt8(ascii: "}")) {
            guard reader.consume(byte: UInt8(ascii: ",")),
                  let name = reader.readPlainName(), !isDecisive(name),
                  reader.consume(byte: UInt8(ascii: ":")),
                  reader.skipStringOrLiteral()
            else { return nil }
        }
        guard reader.isAtEnd else { return nil }
        return .textDelta(index: index, text: text)
    }

    /// The top-level members that decide what a line decodes to.
    private static func isDecisive(_ name: UnsafeRawBufferPointer) -> Bool {
        name.elementsEqual("type".utf8) || name.elementsEqual("event".utf8)
    }
}
