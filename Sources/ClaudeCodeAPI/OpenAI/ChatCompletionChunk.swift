/// One `chat.completion.chunk` of a streaming response.
public struct ChatCompletionChunk: Encodable, Sendable {
    public struct Delta: Encodable, Sendable {
        public var role: String?
        public var content: String?
        public var reasoningContent: String?
        public var toolCalls: [ToolCallDelta]?
        /// The legacy form of the (one) call.
        public var functionCall: FunctionDelta?
    }

    /// A piece of a streamed call: the first has `id`, `type` and `name`; the rest carry `arguments` fragments.
    public struct ToolCallDelta: Encodable, Sendable {
        public var index: Int
        public var id: String?
        public var type: String?
        public var function: FunctionDelta
    }

    public struct FunctionDelta: Encodable, Sendable {
        public var name: String?
        public var arguments: String?
    }

    public struct Choice: Encodable, Sendable {
        public var index = 0
        public var delta: Delta
        public var finishReason: FinishReason?

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encodeNil(forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)  // explicit null until the last chunk
        }
        enum CodingKeys: String, CodingKey { case index, delta, logprobs, finishReason = "finish_reason" }
    }

    public var id: String
    public var object = "chat.completion.chunk"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?

    public init(identity: CompletionIdentity, choices: [Choice], usage: Usage? = nil) {
        id = identity.id
        created = identity.created
        model = identity.model
        self.choices = choices
        self.usage = usage
    }

    public static func role(_ identity: CompletionIdentity) -> ChatCompletionChunk {
        ChatCompletionChunk(identity: identity, choices: [Choice(delta: Delta(role: "assistant", content: ""))])
    }

    public static func content(_ identity: CompletionIdentity, _ text: String) -> ChatCompletionChunk {
        ChatCompletionChunk(identity: identity, choices: [Choice(delta: Delta(content: text))])
    }

    public static func reasoning(_ identity: CompletionIdentity, _ text: String) -> ChatCompletionChunk {
        ChatCompletionChunk(identity: identity, choices: [Choice(delta: Delta(reasoningContent: text))])
    }

    public static func toolCallStart(_ identity: CompletionIdentity, index: Int, id: String, name: String, legacy: Bool) -> ChatCompletionChunk {
        let delta = legacy ? Delta(functionCall: FunctionDelta(name: name, arguments: ""))
            : Delta(toolCalls: [ToolCallDelta(index: index, id: id, type: "function", function: FunctionDelta(name: name, arguments: ""))])
        return ChatCompletionChunk(identity: identity, choices: [Choice(delta: delta)])
    }

    public static func toolCallArguments(_ identity: CompletionIdentity, index: Int, fragment: String, legacy: Bool) -> ChatCompletionChunk {
        let delta = legacy ? Delta(functionCall: FunctionDelta(arguments: fragment))
            : Delta(toolCalls: [ToolCallDelta(index: index, function: FunctionDelta(arguments: fragment))])
        return ChatCompletionChunk(identity: identity, choices: [Choice(delta: delta)])
    }

    public static func finish(_ identity: CompletionIdentity, _ reason: FinishReason) -> ChatCompletionChunk {
        ChatCompletionChunk(identity: identity, choices: [Choice(delta: Delta(), finishReason: reason)])
    }

    /// The extra last chunk of `stream_options.include_usage`: no choices, only usage.
    public static func usage(_ identity: CompletionIdentity, _ usage: Usage) -> ChatCompletionChunk {
        ChatCompletionChunk(identity: identity, choices: [], usage: usage)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encodeNil(forKey: .systemFingerprint)
        try c.encode(choices, forKey: .choices)
        try c.encodeIfPresent(usage, forKey: .usage)
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint" }
}
