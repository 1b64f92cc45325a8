/// The `chat.completion` object of a non-streaming response.
public struct ChatCompletion: Encodable, Sendable {
    public struct Message: Encodable, Sendable {
        public var role = "assistant"
        public var content: String
        public var refusal: String? = nil
        public var reasoningContent: String?

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(role, forKey: .role)
            try c.encode(content, forKey: .content)
            try c.encode(refusal, forKey: .refusal)
            try c.encodeIfPresent(reasoningContent, forKey: .reasoningContent)
        }
        enum CodingKeys: String, CodingKey { case role, content, refusal, reasoningContent = "reasoning_content" }
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

    public init(identity: CompletionIdentity, content: String, reasoning: String?, finishReason: FinishReason, usage: Usage) {
        id = identity.id
        created = identity.created
        model = identity.model
        choices = [Choice(message: Message(content: content, reasoningContent: reasoning), finishReason: finishReason)]
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
