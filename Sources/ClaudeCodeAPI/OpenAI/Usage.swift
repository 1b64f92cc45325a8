/// Token counts in OpenAI's shape.
public struct Usage: Encodable, Equatable, Sendable {
    public struct PromptTokensDetails: Encodable, Equatable, Sendable {
        public var cachedTokens: Int
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }

    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var promptTokensDetails: PromptTokensDetails

    /// Prompt tokens count everything the model read: fresh input, cache reads and cache writes.
    public init(_ usage: CLIUsage) {
        promptTokens = usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens
        completionTokens = usage.outputTokens
        totalTokens = promptTokens + completionTokens
        promptTokensDetails = PromptTokensDetails(cachedTokens: usage.cacheReadInputTokens)
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}
