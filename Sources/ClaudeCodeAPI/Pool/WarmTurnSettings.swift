/// What a request sets on a pre-started CLI before its user lines, as control requests, so that upstream gets what the
/// cold launch of the same request would send (`CLIInvocation.init(request:...)`): the model, the output limit
/// (`CLAUDE_CODE_MAX_OUTPUT_TOKENS`, reset with null when the request sets none), the thinking budget (explicit 0 when
/// off) and the system prompt. Measured with CLI 2.1.332 (POOL.md), pinned by the pool tests.
public struct WarmTurnSettings: Equatable, Sendable {
    public var cliModel: String
    public var maxTokens: Int?
    public var thinkingBudget: Int
    /// The system prompt the turn needs; nil or empty: none.
    public var systemPrompt: String?

    public init(_ request: CLIInvocation.Request) {
        cliModel = request.cliModel
        maxTokens = request.maxTokens
        thinkingBudget = request.thinkingBudget ?? 0
        var prompt = request.conversation.systemPrompt ?? ""
        if let instruction = request.tools.systemInstruction {
            prompt += prompt.isEmpty ? instruction : "\n\n" + instruction
        }
        systemPrompt = prompt.isEmpty ? nil : prompt
    }

    /// The control requests, in the order they must apply. `set_model` with a system prompt needs the model to be
    /// current, so the model goes first. A CLI cannot be told to drop a system prompt once given one (an empty one is
    /// refused, and a blank one is sent as a block), so the prompt is sent only when it differs from the process's
    /// current one, and a turn without one takes only a process that never had one (see `PooledCLI.systemPrompt`).
    public func controlRequests(currentSystemPrompt: String?) -> [JSONValue] {
        var requests: [JSONValue] = [
            .object(["subtype": .string("apply_flag_settings"), "settings": .object([
                "model": .string(cliModel),
                "env": .object(["CLAUDE_CODE_MAX_OUTPUT_TOKENS": maxTokens.map { .string(String($0)) } ?? .null]),
            ])]),
            .object(["subtype": .string("set_max_thinking_tokens"), "max_thinking_tokens": .number(Double(thinkingBudget))]),
        ]
        if let systemPrompt, systemPrompt != currentSystemPrompt {
            requests.append(.object(["subtype": .string("set_model"), "model": .string(cliModel), "system_prompt": .string(systemPrompt),
                                     "only_if_model_is_current": .bool(true)]))
        }
        return requests
    }
}
