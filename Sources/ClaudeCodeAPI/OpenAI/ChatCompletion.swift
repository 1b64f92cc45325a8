/// The `chat.completion` object of a non-streaming response.
public struct ChatCompletion: Encodable, Sendable {
    public struct Message: Encodable, Sendable {
        public var role = "assistant"
        /// The text; null when the answer is only tool calls.
        public var content: String?
        public var refusal: String? = nil
        public var reasoningContent: String?
        public var toolCalls: [ToolCall] = []
        /// The legacy form of one call.
        public var functionCall: ToolCall.Function?

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(role, forKey: .role)
            try c.encode(content, forKey: .content)
            try c.encode(refusal, forKey: .refusal)
            try c.encodeIfPresent(reasoningContent, forKey: .reasoningContent)
            if !toolCalls.isEmpty { try c.encode(toolCalls, forKey: .toolCalls) }
            try c.encodeIfPresent(functionCall, forKey: .functionCall)
        }
        enum CodingKeys: String, CodingKey { case role, content, refusal, reasoningContent, toolCalls, functionCall }
    }

    /// One call in `message.tool_calls`: upstream's id, the client's function name, the arguments as a JSON string.
    public struct ToolCall: Encodable, Sendable {
        public struct Function: Encodable, Sendable {
            public var name: String
            public var arguments: String
        }
        public var id: String
        public var type = "function"
        public var function: Function
    }

    public struct Choice: Encodable, Sendable {
        public var index = 0
        public var message: Message
        public var finishReason: FinishReason

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(message, forKey: .message)
            try c.encodeNil(forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
        enum CodingKeys: String, CodingKey { case index, message, logprobs, finishReason = "finish_reason" }
    }

    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage
    public var systemFingerprint: String? = nil

    public init(identity: CompletionIdentity, content: String, reasoning: String?, finishReason: FinishReason, usage: Usage,
                toolCalls: [TurnToolCall] = [], legacyFunctions: Bool = false) {
        id = identity.id
        created = identity.created
        model = identity.model
        var message = Message(content: content.isEmpty && !toolCalls.isEmpty ? nil : content, reasoningContent: reasoning)
        if legacyFunctions {
            message.functionCall = toolCalls.first.map { ToolCall.Function(name: $0.name, arguments: $0.arguments) }
        } else {
            message.toolCalls = toolCalls.map { ToolCall(id: $0.id, function: .init(name: $0.name, arguments: $0.arguments)) }
        }
        choices = [Choice(message: message, finishReason: finishReason)]
        self.usage = usage
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
    }
}

/// What every chunk or completion of one response shares.
public struct CompletionIdentity: Sendable, Equatable {
    public var id: String
    public var created: Int
    /// The model name the client asked for.
    public var model: String

    public init(id: String, created: Int, model: String) {
        self.id = id
        self.created = created
        self.model = model
    }
}
