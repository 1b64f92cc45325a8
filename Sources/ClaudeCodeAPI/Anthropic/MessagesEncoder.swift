import HTTPCore

/// Non-streaming Messages API answers: collects the turn, then sends one `message` (or one error).
struct MessagesEncoder: TurnEncoder {
    private let writer: any ResponseWriter
    private let model: String
    private let errorFormat = AnthropicErrorFormat()
    private var text = ""
    private var thinking = ""
    private(set) var isComplete = false
    var hasSentAnything: Bool { isComplete }
    private(set) var status = 200

    init(writer: any ResponseWriter, model: String) {
        self.writer = writer
        self.model = model
    }

    mutating func send(_ event: TurnEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .started, .toolCallStarted, .toolCallArguments: break  // the calls come complete with `finished`
        case .text(let piece): text += piece
        case .reasoning(let piece): thinking += piece
        case .finished(let completion):
            isComplete = true
            var blocks: [AnthropicMessage.Block] = []
            if !thinking.isEmpty { blocks.append(.thinking(thinking)) }
            if !text.isEmpty || completion.toolCalls.isEmpty { blocks.append(.text(text)) }
            for call in completion.toolCalls {
                blocks.append(.toolUse(id: call.id, name: call.name, input: (try? JSONValue.parse(Array(call.arguments.utf8))) ?? .object([:])))
            }
            let stop = AnthropicMessage.stop(completion.stopReason)
            let message = AnthropicMessage(id: completion.messageID ?? AnthropicMessage.makeID(), model: model, content: blocks,
                                           stopReason: stop.reason, stopSequence: stop.sequence, usage: .init(completion.usage))
            guard let body = try? JSONWire().body(message) else { return try fail(.internalError(requestID: nil)) }
            try writer.respond(status: 200, contentType: "application/json", body: body)
        case .failed(let error):
            isComplete = true
            try fail(error)
        }
    }

    private mutating func fail(_ error: APIError) throws(ClientDisconnected) {
        status = errorFormat.status(for: error)
        try writer.respond(error, in: errorFormat)
    }

    mutating func idle() throws(ClientDisconnected) {}
}
