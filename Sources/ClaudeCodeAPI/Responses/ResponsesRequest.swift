/// A validated `POST /v1/responses` request (OpenAI's Responses API), in the service's neutral terms.
public struct ResponsesRequest: Equatable, Sendable {
    public var model: String
    /// `instructions`: the system prompt of this turn (a previous response's instructions are not carried over).
    public var instructions: String?
    /// This request's own input items, normalised to OpenAI's item shape with ids (stored; `input_items`).
    public var inputItems: [JSONValue]
    public var previousResponseID: String?
    public var maxOutputTokens: Int?
    public var stream: Bool
    public var store: Bool
    public var thinkingBudget: Int?
    /// The offered tools, `tool_choice`, `parallel_tool_calls` and `text.format` (the history's tools are added
    /// once the history is known).
    public var tools: TurnTools
    /// What the response object echoes: `tools`, `tool_choice`, `text`, `reasoning`, `metadata`.
    public var echo: [String: JSONValue]
    /// Parameters accepted but not honoured, for the logs.
    public var ignoredParameters: [String]
}
