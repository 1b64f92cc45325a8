/// Why the model stopped, in OpenAI's words.
public enum FinishReason: String, Encodable, Sendable {
    case stop
    case length
    case contentFilter = "content_filter"
    case toolCalls = "tool_calls"

    public init(_ reason: TurnStopReason) {
        switch reason {
        case .maxTokens, .contextWindowExceeded: self = .length
        case .refusal: self = .contentFilter
        case .toolUse: self = .toolCalls
        case .endTurn, .stopSequence, .pauseTurn: self = .stop
        }
    }
}
