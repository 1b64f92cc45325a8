/// Everything about client tools and the answer's format that one turn needs, whatever the API surface.
public struct TurnTools: Equatable, Sendable {
    /// The tools the request offers.
    public var offered: [ClientTool]
    /// Tools named in the conversation's history but not offered now: the API wants every tool that appears in the
    /// history declared, so they are declared with an open schema (and never returned as calls).
    public var fromHistory: [ClientTool]
    public var choice: ToolChoice
    /// False: only the first call of a turn is returned.
    public var parallelCalls: Bool
    public var outputFormat: OutputFormat

    public init(offered: [ClientTool] = [], fromHistory: [ClientTool] = [], choice: ToolChoice = .auto, parallelCalls: Bool = true,
                outputFormat: OutputFormat = .text) {
        self.offered = offered
        self.fromHistory = fromHistory
        self.choice = choice
        self.parallelCalls = parallelCalls
        self.outputFormat = outputFormat
    }

    public static let none = TurnTools()

    /// The internal tool that carries a `json_schema` answer.
    public static let structuredOutputToolName = "structured_output"

    /// What the model is told about: the offered tools (only the named one when the choice names one), the
    /// history's tools, and the structured-output tool when a schema is asked for.
    public var declared: [ClientTool] {
        var tools: [ClientTool]
        switch choice {
        case .function(let name): tools = offered.filter { $0.name == name }
        case .none where fromHistory.isEmpty: tools = []
        default: tools = offered
        }
        tools += fromHistory.filter { tool in !tools.contains { $0.name == tool.name } }
        if case .jsonSchema(let name, let schema, let strict) = outputFormat {
            tools.append(ClientTool(name: Self.structuredOutputToolName, description: "Give your answer, '\(name)', as this tool's arguments.",
                                    inputSchema: schema, strict: strict))
        }
        return tools
    }

    /// Whether the CLI needs the in-process MCP server at all.
    public var needsToolServer: Bool { !declared.isEmpty }

    /// The only text the service adds to a conversation: one paragraph at the end of the system prompt, when the
    /// request asks for something the CLI cannot pass upstream (`tool_choice` required or named, `response_format`).
    public var systemInstruction: String? {
        var lines: [String] = []
        switch choice {
        case .required: lines.append("You must answer by calling one or more of the available tools.")
        case .function(let name): lines.append("You must answer by calling the tool `\(name)`.")
        case .auto, .none: break
        }
        switch outputFormat {
        case .text: break
        case .jsonObject: lines.append("Answer with one JSON object and nothing else: no code fences, no text before or after it.")
        case .jsonSchema: lines.append("Answer by calling the tool `\(Self.structuredOutputToolName)` exactly once; its arguments are your answer.")
        }
        return lines.isEmpty ? nil : lines.joined(separator: " ")
    }
}
