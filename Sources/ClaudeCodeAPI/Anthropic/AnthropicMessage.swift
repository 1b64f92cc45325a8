import HTTPCore

/// Anthropic's `message` object: the non-streaming answer, and the `message` of a stream's `message_start`.
struct AnthropicMessage: Encodable {
    enum Block: Encodable {
        case text(String)
        case thinking(String)
        case toolUse(id: String, name: String, input: JSONValue)

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            switch self {
            case .text(let text):
                try c.encode("text", forKey: .type)
                try c.encode(text, forKey: .text)
            case .thinking(let thinking):
                try c.encode("thinking", forKey: .type)
                try c.encode(thinking, forKey: .thinking)
                try c.encode("", forKey: .signature)
            case .toolUse(let id, let name, let input):
                try c.encode("tool_use", forKey: .type)
                try c.encode(id, forKey: .id)
                try c.encode(name, forKey: .name)
                try c.encode(input, forKey: .input)
            }
        }
        enum Keys: String, CodingKey { case type, text, thinking, signature, id, name, input }
    }

    struct Usage: Encodable {
        var inputTokens: Int
        var outputTokens: Int
        var cacheCreationInputTokens: Int
        var cacheReadInputTokens: Int

        init(_ usage: CLIUsage) {
            inputTokens = usage.inputTokens
            outputTokens = usage.outputTokens
            cacheCreationInputTokens = usage.cacheCreationInputTokens
            cacheReadInputTokens = usage.cacheReadInputTokens
        }
    }

    var id: String
    var type = "message"
    var role = "assistant"
    var model: String
    var content: [Block]
    var stopReason: String?
    var stopSequence: String?
    var usage: Usage

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(role, forKey: .role)
        try c.encode(model, forKey: .model)
        try c.encode(content, forKey: .content)
        try c.encode(stopReason, forKey: .stopReason)  // explicit nulls, as Anthropic sends them
        try c.encode(stopSequence, forKey: .stopSequence)
        try c.encode(usage, forKey: .usage)
    }
    enum Keys: String, CodingKey { case id, type, role, model, content, stopReason, stopSequence, usage }

    /// Anthropic's words for why the model stopped, and the stop sequence that matched.
    static func stop(_ reason: TurnStopReason) -> (reason: String, sequence: String?) {
        switch reason {
        case .endTurn: ("end_turn", nil)
        case .maxTokens: ("max_tokens", nil)
        case .stopSequence(let sequence): ("stop_sequence", sequence)
        case .toolUse: ("tool_use", nil)
        case .refusal: ("refusal", nil)
        case .pauseTurn: ("pause_turn", nil)
        case .contextWindowExceeded: ("model_context_window_exceeded", nil)
        }
    }

    /// An id for a message the CLI did not name.
    static func makeID() -> String { "msg_" + RequestID.make().prefix(24) }
}
