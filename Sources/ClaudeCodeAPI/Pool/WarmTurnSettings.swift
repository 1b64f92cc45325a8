/// What a request sets on a pre-started CLI before its user lines, as control requests, so that upstream gets what the
/// cold launch of the same request would send (`CLIInvocation.init(request:...)`): the model, the output limit
/// (`CLAUDE_CODE_MAX_OUTPUT_TOKENS`, reset with null when the request sets none), the thinking budget (explicit 0 when
/// off) and the system prompt. They are process state (a rewind keeps them), so only what differs from the process's
/// current settings is sent. Measured with CLI 2.1.332 (POOL.md), pinned by the pool tests.
public struct WarmTurnSettings: Equatable, Sendable {
    public var cliModel: String
    public var maxTokens: Int?
    public var thinkingBudget: Int
    /// The system prompt the turn needs; nil: none.
    public var systemPrompt: String?

    public init(cliModel: String, maxTokens: Int?, thinkingBudget: Int, systemPrompt: String?) {
        self.cliModel = cliModel
        self.maxTokens = maxTokens
        self.thinkingBudget = thinkingBudget
        self.systemPrompt = systemPrompt
    }

    public init(_ request: CLIInvocation.Request) {
        var prompt = request.conversation.systemPrompt ?? ""
        if let instruction = request.tools.systemInstruction {
            prompt += prompt.isEmpty ? instruction : "\n\n" + instruction
        }
        self.init(cliModel: request.cliModel, maxTokens: request.maxTokens, thinkingBudget: request.thinkingBudget ?? 0,
                  systemPrompt: prompt.isEmpty ? nil : prompt)
    }

    /// What a pre-started CLI has before its first turn: its launch model, no output limit, thinking off
    /// (`MAX_THINKING_TOKENS=0`), no system prompt (an empty `--system-prompt-file`), as `CLIInvocation.pooled` starts it.
    public static func atLaunch(cliModel: String) -> WarmTurnSettings {
        WarmTurnSettings(cliModel: cliModel, maxTokens: nil, thinkingBudget: 0, systemPrompt: nil)
    }

    /// The control requests that take a process from `current` to these settings, in the order they must apply:
    /// `set_model` with a system prompt needs the model to be current, so the model goes first. A CLI cannot be told
    /// to drop a system prompt once given one (an empty one is refused, and a blank one is sent as a block): a turn
    /// without one takes only a process that never had one (see `PooledCLI.canServe`).
    public func controlRequests(from current: WarmTurnSettings) -> [JSONValue] {
        var requests: [JSONValue] = []
        if cliModel != current.cliModel || maxTokens != current.maxTokens {
            requests.append(.object(["subtype": .string("apply_flag_settings"), "settings": .object([
                "model": .string(cliModel),
                "env": .object(["CLAUDE_CODE_MAX_OUTPUT_TOKENS": maxTokens.map { .string(String($0)) } ?? .null]),
            ])]))
        }
        if thinkingBudget != current.thinkingBudget {
            requests.append(.object(["subtype": .string("set_max_thinking_tokens"), "max_thinking_tokens": .number(Double(thinkingBudget))]))
        }
        if let systemPrompt, systemPrompt != current.systemPrompt {
            requests.append(.object(["subtype": .string("set_model"), "model": .string(cliModel), "system_prompt": .string(systemPrompt),
                                     "only_if_model_is_current": .bool(true)]))
        }
        return requests
    }

    /// The process's settings once `controlRequests(from: current)` were all answered with success.
    public func applied(over current: WarmTurnSettings) -> WarmTurnSettings {
        var next = self
        if systemPrompt == nil { next.systemPrompt = current.systemPrompt }
        return next
    }
}
