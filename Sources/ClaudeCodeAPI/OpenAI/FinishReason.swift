/// Why the model stopped, in OpenAI's words.
public enum FinishReason: String, Encodable, Sendable {
    case stop
    case length
    case contentFilter = "content_filter"
    case toolCalls = "tool_calls"
    /// The legacy `functions` form's name for `tool_calls`.
    case functionCall = "function_call"

    public init(_ reason: TurnStopReason, legacyFunctions: Bool = false) {
        switch reason {
        case .maxTokens, .contextWindowExceeded: self = .length
        case .refusal: self = .contentFilter
        case .toolUse: self = legacyFunctions ? .functionCall : .toolCalls
        case .endTurn, .stopSequence, .pauseTurn: self = .stop
        }
    }
}
