/// One line of the CLI's `stream-json` output, reduced to what the gateway acts on.
public enum CLIEvent: Equatable, Sendable {
    /// `system/init`: the turn has started.
    case initialized(model: String?, version: String?)
    /// `system/api_retry`: the upstream request failed and will be sent again.
    case apiRetry(CLIRetry)
    /// `stream_event/message_start`: a new upstream response (a retry starts a new one), with its input usage.
    case messageStart(id: String?, usage: CLIUsage)
    case textDelta(index: Int, text: String)
    case thinkingDelta(index: Int, text: String)
    /// `content_block_start` of a `tool_use` block: the model calls a tool (`id` is upstream's `toolu_` id).
    case toolUseStart(index: Int, id: String, name: String)
    /// `input_json_delta`: a piece of the JSON arguments of the tool_use block at `index`.
    case inputJSONDelta(index: Int, partialJSON: String)
    /// `stream_event/message_delta`: the stop reason of the message and its output tokens so far.
    case messageDelta(stopReason: String?, outputTokens: Int?)
    /// `stream_event/message_stop`; `abandoned` when the CLI gave up on the message's blocks (a retry follows).
    case messageStop(abandoned: Bool)
    /// `assistant`: one complete content block. Text that never streamed (non-streaming fallback) arrives here.
    case assistant(CLIAssistantMessage)
    /// `result`: the last line of a turn.
    case result(CLIResult)
    /// `control_request` from the CLI (an MCP message for an in-process server, a permission question...): it waits
    /// for the `control_response` with the same id on stdin.
    case controlRequest(CLIControlRequest)
    /// `control_response`: the CLI's answer to a control request written to its stdin.
    case controlResponse(CLIControlResponse)
    /// A well-formed line that needs no action (status, other stream events...).
    case other(type: String)
}

public struct CLIControlRequest: Equatable, Sendable {
    public var requestID: String
    /// `request.subtype`: `mcp_message`, `can_use_tool`, ...
    public var subtype: String?
    /// The whole `request` object.
    public var request: JSONValue

    public init(requestID: String, subtype: String?, request: JSONValue) {
        self.requestID = requestID
        self.subtype = subtype
        self.request = request
    }
}

public struct CLIControlResponse: Equatable, Sendable {
    public var requestID: String
    public var isSuccess: Bool
    /// `response.response` of a success.
    public var response: JSONValue?
    /// `response.error` of a failure.
    public var error: String?

    public init(requestID: String, isSuccess: Bool, response: JSONValue? = nil, error: String? = nil) {
        self.requestID = requestID
        self.isSuccess = isSuccess
        self.response = response
        self.error = error
    }
}

public struct CLIRetry: Equatable, Sendable {
    public var attempt: Int?
    public var maxRetries: Int?
    public var delayMilliseconds: Int?
    public var errorStatus: Int?
    public var error: String?

    public init(attempt: Int? = nil, maxRetries: Int? = nil, delayMilliseconds: Int? = nil, errorStatus: Int? = nil, error: String? = nil) {
        self.attempt = attempt
        self.maxRetries = maxRetries
        self.delayMilliseconds = delayMilliseconds
        self.errorStatus = errorStatus
        self.error = error
    }
}

public struct CLIAssistantMessage: Equatable, Sendable {
    public var id: String?
    public var model: String?
    /// Text of the message's text blocks, in order.
    public var text: String
    public var hasText: Bool
    /// The message's complete tool_use blocks.
    public var toolUses: [CLIToolUse]

    /// The CLI's own stand-in message for a failed turn (e.g. "Invalid API key"), never a model answer.
    public var isSynthetic: Bool { model == "<synthetic>" }

    public init(id: String?, model: String?, text: String, hasText: Bool, toolUses: [CLIToolUse] = []) {
        self.id = id
        self.model = model
        self.text = text
        self.hasText = hasText
        self.toolUses = toolUses
    }
}

/// One complete tool_use block.
public struct CLIToolUse: Equatable, Sendable {
    public var id: String
    public var name: String
    public var input: JSONValue

    public init(id: String, name: String, input: JSONValue) {
        self.id = id
        self.name = name
        self.input = input
    }
}

public struct CLIUsage: Equatable, Sendable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadInputTokens: Int
    public var cacheCreationInputTokens: Int

    public init(inputTokens: Int = 0, outputTokens: Int = 0, cacheReadInputTokens: Int = 0, cacheCreationInputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
    }

    /// Everything the model read: fresh input, cache reads and cache writes.
    public var promptTokens: Int { inputTokens + cacheReadInputTokens + cacheCreationInputTokens }
}

public struct CLIResult: Equatable, Sendable {
    /// The only reliable success signal: API failures report `subtype: "success"` with `is_error: true`.
    public var isError: Bool
    public var subtype: String?
    public var text: String?
    public var stopReason: String?
    public var usage: CLIUsage
    public var apiErrorStatus: Int?
    public var apiErrorType: String?
    public var terminalReason: String?

    public init(isError: Bool, subtype: String? = nil, text: String? = nil, stopReason: String? = nil, usage: CLIUsage = CLIUsage(),
                apiErrorStatus: Int? = nil, apiErrorType: String? = nil, terminalReason: String? = nil) {
        self.isError = isError
        self.subtype = subtype
        self.text = text
        self.stopReason = stopReason
        self.usage = usage
        self.apiErrorStatus = apiErrorStatus
        self.apiErrorType = apiErrorType
        self.terminalReason = terminalReason
    }
}
