import HTTPCore

/// Streaming Messages API answers: Anthropic's SSE events (`message_start`, `content_block_start` / `_delta` /
/// `_stop`, `message_delta`, `message_stop`, `ping`), built from the neutral turn events, not forwarded from the CLI:
/// the translator has already dropped text replayed after an upstream retry, added text that only came in the
/// non-streaming fallback, and applied the stop sequences. The status line waits for the first content, so that an
/// early failure is a real HTTP error.
struct MessagesStreamEncoder: TurnEncoder {
    private enum Block: Equatable { case text, thinking, toolUse(Int) }

    private let writer: any ResponseWriter
    private let model: String
    private let json = JSONWire()
    private let errorFormat = AnthropicErrorFormat()
    private var start: TurnStart?
    private var headSent = false
    private var openBlock: Block?
    private var blockCount = 0
    /// The open block's delta events, alike but for their piece (made at the block's first delta; nil if it cannot be).
    private var deltaTemplate: (block: Int, type: String, template: SSEEventTemplate?)?
    private(set) var isComplete = false
    var hasSentAnything: Bool { headSent || isComplete }
    private(set) var status = 200

    init(writer: any ResponseWriter, model: String) {
        self.writer = writer
        self.model = model
    }

    mutating func send(_ event: TurnEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .started(let info):
            start = info
            return
        case .text(let piece):
            try begin(.text, ["type": .string("text"), "text": .string("")])
            try emitDelta("text_delta", "text", piece)
        case .reasoning(let piece):
            try begin(.thinking, ["type": .string("thinking"), "thinking": .string(""), "signature": .string("")])
            try emitDelta("thinking_delta", "thinking", piece)
        case .toolCallStarted(let index, let id, let name):
            try begin(.toolUse(index), ["type": .string("tool_use"), "id": .string(id), "name": .string(name), "input": .object([:])])
        case .toolCallArguments(let index, let fragment):
            guard openBlock == .toolUse(index) else { return }
            try emitDelta("input_json_delta", "partial_json", fragment)
        case .finished(let completion):
            try startStream(messageID: completion.messageID)
            try closeBlock()
            let stop = AnthropicMessage.stop(completion.stopReason)
            try emit("message_delta", ["delta": .object(["stop_reason": .string(stop.reason), "stop_sequence": stop.sequence.map(JSONValue.string) ?? .null]),
                                       "usage": .object(["output_tokens": .number(Double(completion.usage.outputTokens))])])
            try emit("message_stop", [:])
            isComplete = true
        case .failed(let error):
            isComplete = true
            guard headSent else {
                status = errorFormat.status(for: error)
                try writer.respond(error, in: errorFormat)
                return
            }
            try writer.write(errorFormat.streamEvents(for: error))
        }
        try writer.flush()
    }

    mutating func idle() throws(ClientDisconnected) {
        guard !isComplete else { return }
        try startStream(messageID: nil)
        try emit("ping", [:])
        try writer.flush()
    }

    private mutating func begin(_ block: Block, _ contentBlock: [String: JSONValue]) throws(ClientDisconnected) {
        try startStream(messageID: nil)
        guard openBlock != block else { return }
        try closeBlock()
        try emit("content_block_start", ["index": .number(Double(blockCount)), "content_block": .object(contentBlock)])
        openBlock = block
        blockCount += 1
    }

    private mutating func closeBlock() throws(ClientDisconnected) {
        guard openBlock != nil else { return }
        try emit("content_block_stop", ["index": .number(Double(blockCount - 1))])
        openBlock = nil
    }

    private mutating func startStream(messageID: String?) throws(ClientDisconnected) {
        guard !headSent else { return }
        headSent = true
        try writer.writeHead(status: 200, headers: SSEEncoder.responseHeaders)
        let usage = start?.usage ?? CLIUsage()
        let message = AnthropicMessage(id: start?.messageID ?? messageID ?? AnthropicMessage.makeID(), model: model, content: [],
                                       stopReason: nil, stopSequence: nil, usage: .init(usage))
        guard let body = try? json.encode(message) else { return }
        try writer.write(SSEEncoder.event("message_start", Array(#"{"message":"#.utf8) + body + Array(#","type":"message_start"}"#.utf8)))
    }

    /// A `content_block_delta` of the open block: its template with `piece`, the bytes `emit` would write.
    private mutating func emitDelta(_ type: String, _ field: String, _ piece: String) throws(ClientDisconnected) {
        let block = blockCount - 1
        func fields(_ piece: String) -> [String: JSONValue] {
            ["index": .number(Double(block)), "delta": .object(["type": .string(type), field: .string(piece)])]
        }
        if deltaTemplate?.block != block || deltaTemplate?.type != type {
            deltaTemplate = (block, type, SSEEventTemplate(rendered: Self.event("content_block_delta", fields(SSEEventTemplate.textMarker))))
        }
        guard let template = deltaTemplate?.template else { return try emit("content_block_delta", fields(piece)) }
        try writer.write(template.render(text: piece))
    }

    /// One event whose JSON object is `fields` plus its `type`.
    private func emit(_ type: String, _ fields: [String: JSONValue]) throws(ClientDisconnected) {
        try writer.write(Self.event(type, fields))
    }

    static func event(_ type: String, _ fields: [String: JSONValue]) -> [UInt8] {
        var object = fields
        object["type"] = .string(type)
        return SSEEncoder.event(type, Array(JSONValue.object(object).jsonText.utf8))
    }
}
