/// Token counts in OpenAI's shape.
public struct Usage: Encodable, Equatable, Sendable {
    public struct PromptTokensDetails: Encodable, Equatable, Sendable {
        public var cachedTokens: Int
    }

    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var promptTokensDetails: PromptTokensDetails

    /// Prompt tokens count everything the model read: fresh input, cache reads and cache writes.
    public init(_ usage: CLIUsage) {
        promptTokens = usage.promptTokens
        completionTokens = usage.outputTokens
        totalTokens = promptTokens + completionTokens
        promptTokensDetails = PromptTokensDetails(cachedTokens: usage.cacheReadInputTokens)
    }
}
