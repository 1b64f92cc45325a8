import HTTPCore

/// Non-streaming Messages API answers: one `message` (or one Anthropic error).
typealias MessagesEncoder = BufferedTurnEncoder<MessagesAnswer>

struct MessagesAnswer: TurnAnswer {
    let model: String
    let errorFormat: any ErrorFormat = AnthropicErrorFormat()

    func body(text: String, reasoning thinking: String, completion: TurnCompletion) -> Result<[UInt8], APIError> {
        var blocks: [AnthropicMessage.Block] = []
        if !thinking.isEmpty { blocks.append(.thinking(thinking)) }
        if !text.isEmpty || completion.toolCalls.isEmpty { blocks.append(.text(text)) }
        for call in completion.toolCalls {
            blocks.append(.toolUse(id: call.id, name: call.name, input: (try? JSONValue.parse(Array(call.arguments.utf8))) ?? .object([:])))
        }
        let stop = AnthropicMessage.stop(completion.stopReason)
        let message = AnthropicMessage(id: completion.messageID ?? AnthropicMessage.makeID(), model: model, content: blocks,
                                       stopReason: stop.reason, stopSequence: stop.sequence, usage: .init(completion.usage))
        guard let body = try? JSONWire().body(message) else { return .failure(.internalError(requestID: nil)) }
        return .success(body)
    }
}

extension BufferedTurnEncoder where Answer == MessagesAnswer {
    init(writer: any ResponseWriter, model: String) {
        self.init(writer: writer, answer: MessagesAnswer(model: model))
    }
}
