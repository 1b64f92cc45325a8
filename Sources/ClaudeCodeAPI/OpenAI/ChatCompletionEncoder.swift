import HTTPCore

/// Non-streaming chat completions: one `chat.completion` (or one OpenAI error).
public typealias ChatCompletionEncoder = BufferedTurnEncoder<ChatCompletionAnswer>

public struct ChatCompletionAnswer: TurnAnswer {
    let identity: CompletionIdentity
    let legacyFunctions: Bool
    public let errorFormat: any ErrorFormat = OpenAIErrorFormat()

    public func body(text: String, reasoning: String, completion: TurnCompletion) -> Result<[UInt8], APIError> {
        let body = ChatCompletion(identity: identity, content: text, reasoning: reasoning.isEmpty ? nil : reasoning,
                                  finishReason: FinishReason(completion.stopReason, legacyFunctions: legacyFunctions),
                                  usage: Usage(completion.usage), toolCalls: completion.toolCalls, legacyFunctions: legacyFunctions)
        // Only a non-finite number can fail to encode; there is none in a completion.
        guard let json = try? JSONWire().body(body) else { return .failure(.internalError(requestID: nil)) }
        return .success(json)
    }
}

extension BufferedTurnEncoder where Answer == ChatCompletionAnswer {
    public init(writer: any ResponseWriter, identity: CompletionIdentity, legacyFunctions: Bool = false) {
        self.init(writer: writer, answer: ChatCompletionAnswer(identity: identity, legacyFunctions: legacyFunctions))
    }
}
