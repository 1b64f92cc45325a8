/// Non-streaming rendering: collects the turn, then sends one `chat.completion` (or one error).
public struct BufferedCompletionResponder: CompletionResponder {
    private let writer: any ResponseWriter
    private let identity: CompletionIdentity
    private var content = ""
    private var reasoning = ""
    public private(set) var isComplete = false
    public var hasSentAnything: Bool { isComplete }
    public private(set) var outcome: (status: Int, finishReason: FinishReason?, usage: Usage?) = (200, nil, nil)

    public init(writer: any ResponseWriter, identity: CompletionIdentity) {
        self.writer = writer
        self.identity = identity
    }

    public mutating func send(_ event: CompletionEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .content(let text): content += text
        case .reasoning(let text): reasoning += text
        case .finished(let reason, let usage):
            isComplete = true
            outcome = (200, reason, usage)
            let completion = ChatCompletion(identity: identity, content: content, reasoning: reasoning.isEmpty ? nil : reasoning,
                                            finishReason: reason, usage: usage)
            try writer.respond(status: 200, json: JSONBodyEncoder().encode(completion))
        case .failed(let error):
            isComplete = true
            outcome = (error.status, nil, nil)
            try writer.respond(error: error)
        }
    }

    public mutating func idle() throws(ClientDisconnected) {}
}
