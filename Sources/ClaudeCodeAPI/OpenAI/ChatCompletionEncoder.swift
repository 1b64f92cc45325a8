import HTTPCore

/// Non-streaming chat completions: collects the turn, then sends one `chat.completion` (or one error).
public struct ChatCompletionEncoder: TurnEncoder {
    private let writer: any ResponseWriter
    private let identity: CompletionIdentity
    private let legacyFunctions: Bool
    private let errorFormat = OpenAIErrorFormat()
    private var content = ""
    private var reasoning = ""
    public private(set) var isComplete = false
    public var hasSentAnything: Bool { isComplete }
    public private(set) var status = 200

    public init(writer: any ResponseWriter, identity: CompletionIdentity, legacyFunctions: Bool = false) {
        self.writer = writer
        self.identity = identity
        self.legacyFunctions = legacyFunctions
    }

    public mutating func send(_ event: TurnEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .text(let text): content += text
        case .reasoning(let text): reasoning += text
        case .started, .toolCallStarted, .toolCallArguments: break  // the complete calls come with `finished`
        case .finished(let completion):
            isComplete = true
            let body = ChatCompletion(identity: identity, content: content, reasoning: reasoning.isEmpty ? nil : reasoning,
                                      finishReason: FinishReason(completion.stopReason, legacyFunctions: legacyFunctions),
                                      usage: Usage(completion.usage), toolCalls: completion.toolCalls, legacyFunctions: legacyFunctions)
            do {
                let json = try JSONWire().body(body)
                try writer.respond(status: 200, contentType: "application/json", body: json)
            } catch let failure as JSONWire.EncodingFailure {
                _ = failure  // only a non-finite number can fail to encode; there is none in a completion
                try fail(.internalError(requestID: nil))
            } catch {
                throw ClientDisconnected()
            }
        case .failed(let error):
            isComplete = true
            try fail(error)
        }
    }

    private mutating func fail(_ error: APIError) throws(ClientDisconnected) {
        status = error.status
        try writer.respond(error, in: errorFormat)
    }

    public mutating func idle() throws(ClientDisconnected) {}
}
