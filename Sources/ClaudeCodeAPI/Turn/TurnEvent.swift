/// What a turn tells its client, in order, whatever the API surface: the neutral output of `TurnTranslator`, which
/// each surface's `TurnEncoder` renders in its own wire format (OpenAI chunks, one JSON object, ...).
public enum TurnEvent: Equatable, Sendable {
    case text(String)
    case reasoning(String)
    case finished(TurnCompletion)
    case failed(APIError)
}

/// How a turn that succeeded ended.
public struct TurnCompletion: Equatable, Sendable {
    public var stopReason: TurnStopReason
    public var usage: CLIUsage

    public init(stopReason: TurnStopReason, usage: CLIUsage) {
        self.stopReason = stopReason
        self.usage = usage
    }
}

/// Why the model stopped, in Anthropic's terms (each surface maps them to its own).
public enum TurnStopReason: Equatable, Sendable {
    case endTurn
    case maxTokens
    /// One of the request's stop sequences (applied by the service) ended the text.
    case stopSequence(String)
    case toolUse
    case refusal
    case pauseTurn
    case contextWindowExceeded

    /// The `stop_reason` the CLI reports; nil or unknown values count as an ordinary end of turn.
    public init(cliStopReason: String?) {
        switch cliStopReason {
        case "max_tokens": self = .maxTokens
        case "model_context_window_exceeded": self = .contextWindowExceeded
        case "refusal": self = .refusal
        case "tool_use": self = .toolUse
        case "pause_turn": self = .pauseTurn
        default: self = .endTurn
        }
    }
}
