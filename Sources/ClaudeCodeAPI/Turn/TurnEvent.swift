/// What a turn tells its client, in order, whatever the API surface: the neutral output of `TurnTranslator`, which
/// each surface's `TurnEncoder` renders in its own wire format (OpenAI chunks, one JSON object, ...).
public enum TurnEvent: Equatable, Sendable {
    /// The first upstream response of the turn began: its message id and input usage (sent once per turn).
    case started(TurnStart)
    case text(String)
    case reasoning(String)
    /// The model starts calling a client tool: `index` counts the calls of the turn from 0.
    case toolCallStarted(index: Int, id: String, name: String)
    /// A piece of the JSON arguments of call `index`, as the model writes them.
    case toolCallArguments(index: Int, fragment: String)
    case finished(TurnCompletion)
    case failed(APIError)
}

/// What is known when upstream's answer begins.
public struct TurnStart: Equatable, Sendable {
    /// Upstream's message id (`msg_...`), when the CLI reported one.
    public var messageID: String?
    /// Input usage (output tokens so far).
    public var usage: CLIUsage

    public init(messageID: String?, usage: CLIUsage) {
        self.messageID = messageID
        self.usage = usage
    }
}

/// How a turn that succeeded ended.
public struct TurnCompletion: Equatable, Sendable {
    public var stopReason: TurnStopReason
    public var usage: CLIUsage
    /// Upstream's id of the message that ended the turn, when known.
    public var messageID: String?
    /// The client tool calls the turn ended with (stop reason `toolUse`), complete.
    public var toolCalls: [TurnToolCall]

    public init(stopReason: TurnStopReason, usage: CLIUsage, toolCalls: [TurnToolCall] = [], messageID: String? = nil) {
        self.stopReason = stopReason
        self.usage = usage
        self.toolCalls = toolCalls
        self.messageID = messageID
    }
}

/// One complete call of a client tool: upstream's id, the tool's name, its arguments as JSON text.
public struct TurnToolCall: Equatable, Sendable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
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
