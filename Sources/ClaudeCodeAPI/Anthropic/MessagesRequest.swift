/// A validated `POST /v1/messages` request (Anthropic's Messages API), in the service's neutral terms.
public struct MessagesRequest: Equatable, Sendable {
    public var model: String
    /// `system` first (as a system message), then the conversation.
    public var messages: [ChatMessage]
    public var maxTokens: Int
    public var stream: Bool
    public var stopSequences: [String]
    public var thinkingBudget: Int?
    public var tools: TurnTools
    /// Parameters accepted but not honoured, for the logs.
    public var ignoredParameters: [String]
}
