/// A validated `POST /v1/chat/completions` request: only what the service acts on.
public struct ChatCompletionRequest: Equatable, Sendable {
    /// The model name as the client sent it (echoed in responses).
    public var model: String
    public var messages: [ChatMessage]
    public var stream: Bool
    public var includeUsageInStream: Bool
    /// `max_completion_tokens`, or else `max_tokens`.
    public var maxTokens: Int?
    /// `stop`: up to four sequences that end the output (applied by the service).
    public var stopSequences: [String]
    /// Extended thinking budget, from `reasoning_effort` (or Anthropic's `thinking`); nil = no thinking.
    public var thinkingBudget: Int?
    /// Parameters accepted but not honoured (see README, "Parameter policy"), for the logs.
    public var ignoredParameters: [String]
    /// Client tools, tool_choice, parallel_tool_calls and response_format.
    public var tools: TurnTools
    /// The request used the legacy `functions` / `function_call` form: the answer does too.
    public var legacyFunctions: Bool

    public init(model: String, messages: [ChatMessage], stream: Bool = false, includeUsageInStream: Bool = false,
                maxTokens: Int? = nil, stopSequences: [String] = [], thinkingBudget: Int? = nil, ignoredParameters: [String] = [],
                tools: TurnTools = .none, legacyFunctions: Bool = false) {
        self.model = model
        self.messages = messages
        self.stream = stream
        self.includeUsageInStream = includeUsageInStream
        self.maxTokens = maxTokens
        self.stopSequences = stopSequences
        self.thinkingBudget = thinkingBudget
        self.ignoredParameters = ignoredParameters
        self.tools = tools
        self.legacyFunctions = legacyFunctions
    }
}
