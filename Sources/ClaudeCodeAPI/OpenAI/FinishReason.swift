/// Why the model stopped, in OpenAI's words.
public enum FinishReason: String, Encodable, Sendable {
    case stop
    case length
    case contentFilter = "content_filter"
    case toolCalls = "tool_calls"

    /// Maps the Anthropic `stop_reason` the CLI reports.
    public init(stopReason: String?) {
        switch stopReason {
        case "max_tokens", "model_context_window_exceeded": self = .length
        case "refusal": self = .contentFilter
        case "tool_use": self = .toolCalls
        default: self = .stop  // end_turn, stop_sequence, pause_turn, unknown
        }
    }
}
