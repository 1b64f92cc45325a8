import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("Streamed text events from templates, byte for byte as encoded in full")
struct StreamEventTemplateTests {
    static let texts = TextDeltaLineTests.trickyTexts + [
        "\u{0}\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{9}\u{A}\u{B}\u{C}\u{D}\u{E}\u{F}",
        "\u{10}\u{11}\u{12}\u{13}\u{14}\u{15}\u{16}\u{17}\u{18}\u{19}\u{1A}\u{1B}\u{1C}\u{1D}\u{1E}\u{1F}\u{20}",
        String((0x20..<0x7F).map { Character(Unicode.Scalar(UInt8($0))) }),
        SSEEventTemplate.textMarker, "</script>", "\r\n\r\n", "data: [DONE]",
    ]

    @Test("a JSON string literal is what JSONWire writes for the same string", arguments: texts)
    func stringLiteralsMatchJSONWire(_ text: String) throws {
        var literal: [UInt8] = []
        JSONStringLiteral.append(text, to: &literal)
        let wire = try JSONWire().encode([text])
        #expect(literal == Array(wire.dropFirst().dropLast()))
        #expect(literal == Array(JSONValue.array([.string(text)]).jsonText.utf8.dropFirst().dropLast()))
    }

    static let identity = CompletionIdentity(id: "chatcmpl-0123456789abcdef", created: 1_765_000_000, model: "claude-sonnet-4-5")

    @Test("content and reasoning chunks are the bytes of the encoded chunk", arguments: texts)
    func chatChunksMatchTheirEncoding(_ text: String) throws {
        let json = JSONWire()
        for chunk in [ChatCompletionChunk.content, ChatCompletionChunk.reasoning] {
            let template = try #require(SSEEventTemplate(rendered: SSEEncoder.data(try json.encode(chunk(Self.identity, SSEEventTemplate.textMarker)))))
            #expect(template.render(text: text) == SSEEncoder.data(try json.encode(chunk(Self.identity, text))))
        }
    }

    @Test("an integer hole takes any sequence number, before or after the text", arguments: [0, 7, 10, 99, 12_345, 1_000_000_007])
    func integerHolesMatchTheirEncoding(_ number: Int) throws {
        func event(_ text: JSONValue, _ sequence: JSONValue) -> [UInt8] {
            ResponsesStreamEncoder.event("response.output_text.delta", ["item_id": .string("msg_1"), "delta": text, "logprobs": .array([])],
                                         sequence: sequence)
        }
        let template = try #require(SSEEventTemplate(rendered: event(.string(SSEEventTemplate.textMarker), .string(SSEEventTemplate.integerMarker))))
        #expect(template.render(text: "a\"b", integer: number) == event(.string("a\"b"), .number(Double(number))))
        let integerFirst = JSONValue.object(["a": .string(SSEEventTemplate.integerMarker), "z": .string(SSEEventTemplate.textMarker)])
        let reversed = try #require(SSEEventTemplate(rendered: SSEEncoder.data(Array(integerFirst.jsonText.utf8))))
        #expect(reversed.render(text: "x", integer: number) == SSEEncoder.data(Array(JSONValue.object(["a": .number(Double(number)), "z": .string("x")]).jsonText.utf8)))
    }

    @Test("an event without exactly one text marker makes no template")
    func markersMustBeThereOnce() {
        let marker = JSONValue.string(SSEEventTemplate.textMarker)
        #expect(SSEEventTemplate(rendered: SSEEncoder.data(Array(JSONValue.object(["a": .string("x")]).jsonText.utf8))) == nil)
        #expect(SSEEventTemplate(rendered: SSEEncoder.data(Array(JSONValue.object(["a": marker, "b": marker]).jsonText.utf8))) == nil)
        let twoIntegers = JSONValue.object(["a": marker, "b": .string(SSEEventTemplate.integerMarker), "c": .string(SSEEventTemplate.integerMarker)])
        #expect(SSEEventTemplate(rendered: SSEEncoder.data(Array(twoIntegers.jsonText.utf8))) == nil)
    }

    /// Every event of an SSE body, split into its name (nil for a bare `data:` event) and its JSON.
    static func events(of body: [UInt8]) -> [(name: String?, json: [UInt8], bytes: [UInt8])] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").dropLast().map { block in
            var lines = block.components(separatedBy: "\n")
            let name = lines.first?.hasPrefix("event: ") == true ? String(lines.removeFirst().dropFirst(7)) : nil
            let json = lines.first.map { Array($0.dropFirst(6).utf8) } ?? []
            return (name, json, Array((block + "\n\n").utf8))
        }
    }

    /// The events a turn with these text pieces streams, each checked to be the canonical rendering of its own JSON
    /// (sorted keys, as every encoder renders them in full), and the pieces as a client reads them back.
    static func checkCanonical(_ body: [UInt8]) throws -> [[String: Any]] {
        var objects: [[String: Any]] = []
        for event in events(of: body) where event.json != Array("[DONE]".utf8) && !event.json.isEmpty {
            let value = try JSONValue.parse(event.json)
            let canonical = Array(value.jsonText.utf8)
            let expected = event.name.map { SSEEncoder.event($0, canonical) } ?? SSEEncoder.data(canonical)
            #expect(event.bytes == expected, "\(String(decoding: event.bytes, as: UTF8.self))")
            objects.append(try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any]))
        }
        return objects
    }

    static let turn: [TurnEvent] = [.started(TurnStart(messageID: "msg_1", usage: CLIUsage()))]
        + texts.map { TurnEvent.reasoning($0) } + texts.map { TurnEvent.text($0) }
        + [.finished(TurnCompletion(stopReason: .endTurn, usage: CLIUsage(inputTokens: 3, outputTokens: 5), messageID: "msg_1"))]

    @Test("a streamed chat completion's chunks are those of the chunks encoded in full")
    func chatStreamIsByteIdentical() throws {
        let writer = RecordingResponseWriter()
        var encoder = ChatCompletionStreamEncoder(writer: writer, identity: Self.identity, includeUsage: true)
        for event in Self.turn { try encoder.send(event) }
        let json = JSONWire()
        var expected = SSEEncoder.data(try json.encode(ChatCompletionChunk.role(Self.identity)))
        for text in Self.texts { expected += SSEEncoder.data(try json.encode(ChatCompletionChunk.reasoning(Self.identity, text))) }
        for text in Self.texts { expected += SSEEncoder.data(try json.encode(ChatCompletionChunk.content(Self.identity, text))) }
        expected += SSEEncoder.data(try json.encode(ChatCompletionChunk.finish(Self.identity, .stop)))
        expected += SSEEncoder.data(try json.encode(ChatCompletionChunk.usage(Self.identity, Usage(CLIUsage(inputTokens: 3, outputTokens: 5)))))
        expected += SSEEncoder.done
        #expect(writer.body == expected)
    }

    @Test("a streamed Messages answer's deltas are their events rendered in full, with every piece in order")
    func messagesStreamIsByteIdentical() throws {
        let writer = RecordingResponseWriter()
        var encoder = MessagesStreamEncoder(writer: writer, model: "claude-sonnet-4-5")
        for event in Self.turn { try encoder.send(event) }
        let objects = try Self.checkCanonical(writer.body)
        let deltas = objects.filter { $0["type"] as? String == "content_block_delta" }.compactMap { $0["delta"] as? [String: Any] }
        #expect(deltas.compactMap { $0["thinking"] as? String } == Self.texts)
        #expect(deltas.compactMap { $0["text"] as? String } == Self.texts)
        #expect(objects.filter { $0["type"] as? String == "content_block_delta" }.map { $0["index"] as? Int } == Array(repeating: 0, count: Self.texts.count) + Array(repeating: 1, count: Self.texts.count))
    }

    @Test("a streamed Responses answer's deltas are their events rendered in full, numbered in sequence")
    func responsesStreamIsByteIdentical() throws {
        let request = try ResponsesAPITests.request(#"{"model":"claude-sonnet-4-5","input":"hi","stream":true}"#)
        let object = ResponseObject(id: "resp_1", createdAt: 1_765_000_000, model: "claude-sonnet-4-5", request: request)
        let writer = RecordingResponseWriter()
        var encoder = ResponsesStreamEncoder(writer: writer, object: object, complete: { _ in nil })
        for event in Self.turn { try encoder.send(event) }
        let objects = try Self.checkCanonical(writer.body)
        #expect(objects.map { $0["sequence_number"] as? Int } == Array(0..<objects.count))
        #expect(objects.filter { $0["type"] as? String == "response.reasoning_text.delta" }.compactMap { $0["delta"] as? String } == Self.texts)
        #expect(objects.filter { $0["type"] as? String == "response.output_text.delta" }.compactMap { $0["delta"] as? String } == Self.texts)
        let done = try #require(objects.first { $0["type"] as? String == "response.output_text.done" })
        #expect(done["text"] as? String == Self.texts.joined())
    }
}
