/// Validation of OpenAI's function calling and structured output: `tools` / legacy `functions`, `tool_choice` /
/// `function_call`, `parallel_tool_calls`, `response_format`, and the tool calls and results in the history.
extension ChatCompletionRequest {
    /// OpenAI's own limit.
    static let maximumTools = 128

    static func validateTools(_ body: [String: JSONValue], messages: [ChatMessage]) throws(APIError) -> (TurnTools, legacy: Bool) {
        let hasTools = body["tools"].map { $0 != .null } ?? false
        let hasFunctions = body["functions"].map { $0 != .null } ?? false
        if hasTools && hasFunctions {
            throw APIError.invalidValue("functions", "Send either 'tools' or the legacy 'functions', not both.")
        }
        var offered: [ClientTool] = []
        if hasTools {
            offered = try list(body["tools"], "tools").enumerated().map { (index, item) throws(APIError) in
                let path = "tools[\(index)]"
                guard case .object(let fields) = item else { throw APIError.invalidType(path, expected: "an object", got: item.typeName) }
                let type = try requiredString(fields, "type", path: "\(path).type")
                guard type == "function" else {
                    throw APIError.unsupportedParameter("\(path).type", "Only tools of type 'function' are supported; '\(type)' tools are not.")
                }
                guard case .object(let function)? = fields["function"] else {
                    throw APIError.missingParameter("\(path).function")
                }
                return try clientTool(function, path: "\(path).function")
            }
        } else if hasFunctions {
            offered = try list(body["functions"], "functions").enumerated().map { (index, item) throws(APIError) in
                guard case .object(let function) = item else { throw APIError.invalidType("functions[\(index)]", expected: "an object", got: item.typeName) }
                return try clientTool(function, path: "functions[\(index)]")
            }
        }
        guard offered.count <= maximumTools else {
            throw APIError.invalidValue(hasTools ? "tools" : "functions", "At most \(maximumTools) tools may be offered.")
        }
        var names = Set<String>()
        for (index, tool) in offered.enumerated() where !names.insert(tool.name).inserted {
            throw APIError.invalidValue(hasTools ? "tools[\(index)].function.name" : "functions[\(index)].name",
                                        "Tool names must be unique; '\(tool.name)' is given twice.")
        }

        let choice = try validateChoice(body, offered: offered, legacy: hasFunctions)
        let parallel = try optionalBool(body, "parallel_tool_calls") ?? true
        let format = try validateResponseFormat(body["response_format"])
        if format != .text, offered.contains(where: { $0.name == TurnTools.structuredOutputToolName }) {
            throw APIError.invalidValue("tools", "The tool name '\(TurnTools.structuredOutputToolName)' is reserved when response_format asks for JSON.")
        }

        // Tools the history calls but the request does not offer: declared all the same (the API requires it).
        var fromHistory: [ClientTool] = []
        for message in messages {
            for case .toolUse(_, let name, _) in message.content where !names.contains(name) {
                names.insert(name)
                fromHistory.append(ClientTool(name: name))
            }
        }
        return (TurnTools(offered: offered, fromHistory: fromHistory, choice: choice, parallelCalls: parallel, outputFormat: format),
                hasFunctions)
    }

    private static func list(_ value: JSONValue?, _ param: String) throws(APIError) -> [JSONValue] {
        guard case .array(let items)? = value else { throw APIError.invalidType(param, expected: "an array", got: value?.typeName ?? "null") }
        return items
    }

    private static func clientTool(_ function: [String: JSONValue], path: String) throws(APIError) -> ClientTool {
        let name = try requiredString(function, "name", path: "\(path).name")
        guard ClientTool.isValidName(name) else {
            throw APIError.invalidValue("\(path).name",
                "Invalid tool name '\(name)': use 1 to 64 letters, digits, underscores and dashes (other characters would be rewritten).")
        }
        var description = ""
        if let value = function["description"], value != .null {
            guard case .string(let text) = value else { throw APIError.invalidType("\(path).description", expected: "a string", got: value.typeName) }
            guard text.count <= ClientTool.maximumDescriptionLength else {
                throw APIError.invalidValue("\(path).description",
                    "Tool descriptions may be at most \(ClientTool.maximumDescriptionLength) characters (longer ones would be cut); this one has \(text.count).")
            }
            description = text
        }
        var schema: JSONValue = .object(["type": .string("object"), "properties": .object([:])])
        if let parameters = function["parameters"], parameters != .null {
            guard case .object = parameters else { throw APIError.invalidType("\(path).parameters", expected: "an object", got: parameters.typeName) }
            schema = parameters
        }
        let strict = try optionalBool(function, "strict", path: "\(path).strict") ?? false
        return ClientTool(name: name, description: description, inputSchema: schema, strict: strict)
    }

    private static func validateChoice(_ body: [String: JSONValue], offered: [ClientTool], legacy: Bool) throws(APIError) -> ToolChoice {
        let param = legacy ? "function_call" : "tool_choice"
        guard let value = body[param], value != .null else {
            if !legacy, let stray = body["function_call"], stray != .null {
                throw APIError.invalidValue("function_call", "'function_call' goes with the legacy 'functions'; with 'tools' use 'tool_choice'.")
            }
            return .auto
        }
        let choice: ToolChoice
        switch value {
        case .string("auto"): choice = .auto
        case .string("none"): choice = .none
        case .string("required") where !legacy: choice = .required
        case .string(let other):
            throw APIError.invalidValue(param, "Invalid '\(param)': '\(other)'. Use \(legacy ? "'auto', 'none'" : "'auto', 'none', 'required'") or a function.")
        case .object(let fields):
            let name: String
            if legacy {
                name = try requiredString(fields, "name", path: "\(param).name")
            } else {
                guard case .object(let function)? = fields["function"] else { throw APIError.missingParameter("\(param).function") }
                name = try requiredString(function, "name", path: "\(param).function.name")
            }
            guard offered.contains(where: { $0.name == name }) else {
                throw APIError.invalidValue(param, "'\(param)' names '\(name)', which is not among the offered tools.")
            }
            choice = .function(name)
        default:
            throw APIError.invalidType(param, expected: "a string or an object", got: value.typeName)
        }
        if offered.isEmpty && choice != .auto && choice != .none {
            throw APIError.invalidValue(param, "'\(param)' requires tools to be offered.")
        }
        return choice
    }

    private static func validateResponseFormat(_ value: JSONValue?) throws(APIError) -> OutputFormat {
        guard let value, value != .null else { return .text }
        guard case .object(let fields) = value else { throw APIError.invalidType("response_format", expected: "an object", got: value.typeName) }
        switch try requiredString(fields, "type", path: "response_format.type") {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard case .object(let spec)? = fields["json_schema"] else { throw APIError.missingParameter("response_format.json_schema") }
            let name = try requiredString(spec, "name", path: "response_format.json_schema.name")
            var schema: JSONValue = .object(["type": .string("object")])
            if let given = spec["schema"], given != .null {
                guard case .object = given else {
                    throw APIError.invalidType("response_format.json_schema.schema", expected: "an object", got: given.typeName)
                }
                schema = given
            }
            let strict = try optionalBool(spec, "strict", path: "response_format.json_schema.strict") ?? false
            return .jsonSchema(name: name, schema: schema, strict: strict)
        case let other:
            throw APIError.invalidValue("response_format.type", "Invalid response_format type '\(other)': use 'text', 'json_object' or 'json_schema'.")
        }
    }

    /// An assistant message's `tool_calls` (or legacy `function_call`) as tool_use parts.
    static func validateToolCalls(_ fields: [String: JSONValue], path: String) throws(APIError) -> [ContentPart] {
        var parts: [ContentPart] = []
        if let value = fields["tool_calls"], value != .null {
            for (index, item) in try list(value, "\(path).tool_calls").enumerated() {
                let callPath = "\(path).tool_calls[\(index)]"
                guard case .object(let call) = item else { throw APIError.invalidType(callPath, expected: "an object", got: item.typeName) }
                let id = try requiredString(call, "id", path: "\(callPath).id")
                guard id.utf8.count <= 256, id.utf8.allSatisfy({ ClientTool.isValidName(String(UnicodeScalar($0))) }) else {
                    throw APIError.invalidValue("\(callPath).id", "Tool call ids may hold letters, digits, underscores and dashes only.")
                }
                guard case .object(let function)? = call["function"] else { throw APIError.missingParameter("\(callPath).function") }
                parts.append(try toolUse(id: id, function, path: "\(callPath).function"))
            }
        }
        if case .object(let function)? = fields["function_call"] {
            parts.append(try toolUse(id: "", function, path: "\(path).function_call"))
        }
        return parts
    }

    private static func toolUse(id: String, _ function: [String: JSONValue], path: String) throws(APIError) -> ContentPart {
        let name = try requiredString(function, "name", path: "\(path).name")
        let text: String
        switch function["arguments"] {
        case .string(let arguments)?: text = arguments.isEmpty ? "{}" : arguments
        case nil, .null?: text = "{}"
        case let other?: throw APIError.invalidType("\(path).arguments", expected: "a string", got: other.typeName)
        }
        guard case .object? = try? JSONValue.parse(Array(text.utf8)) else {
            throw APIError.invalidValue("\(path).arguments", "The arguments of a tool call must be a JSON object, as a string.")
        }
        let input = (try? JSONValue.parse(Array(text.utf8))) ?? .object([:])
        return .toolUse(id: id, name: name, input: input)
    }

    static func validateToolResultContent(_ value: JSONValue?, path: String) throws(APIError) -> JSONValue {
        switch value {
        case .string(let text)?: return .string(text)
        case nil, .null?: return .string("")
        case .array(let parts)?:
            return .array(try parts.enumerated().map { (index, part) throws(APIError) -> JSONValue in
                guard case .object(let fields) = part, fields["type"] == .string("text"), case .string(let text)? = fields["text"] else {
                    throw APIError.invalidValue("\(path)[\(index)]", "Tool results may hold text parts only.")
                }
                return .object(["type": .string("text"), "text": .string(text)])
            })
        case let other?:
            throw APIError.invalidType(path, expected: "a string or an array of text parts", got: other.typeName)
        }
    }

    /// Every tool result answers a call of the assistant message before it (by `tool_call_id`, or for legacy
    /// `function` messages by position, with an id made up for both), and no call is answered twice.
    static func linkToolResults(_ messages: [ChatMessage]) throws(APIError) -> [ChatMessage] {
        var linked = messages
        var open: [String] = []  // ids of the last assistant message's calls not answered yet
        var legacyCount = 0
        for index in linked.indices {
            let message = linked[index]
            switch message.role {
            case .assistant:
                open = []
                linked[index].content = message.content.map { part in
                    guard case .toolUse(let id, let name, let input) = part, id.isEmpty else { return part }
                    legacyCount += 1
                    return .toolUse(id: "call_legacy_\(legacyCount)", name: name, input: input)
                }
                for case .toolUse(let id, _, _) in linked[index].content { open.append(id) }
            case .tool, .function:
                guard case .toolResult(let id, let content, let isError)? = message.content.first else { continue }
                let resolved = message.role == .function ? (open.first ?? "") : id
                guard !resolved.isEmpty, let position = open.firstIndex(of: resolved) else {
                    let param = message.role == .function ? "messages[\(index)]" : "messages[\(index)].tool_call_id"
                    throw APIError.invalidValue(param, message.role == .function
                        ? "A 'function' message must follow an assistant 'function_call'."
                        : "'\(id)' does not answer a tool call of the assistant message before it.")
                }
                open.remove(at: position)
                linked[index].content = [.toolResult(toolUseID: resolved, content: content, isError: isError)]
            case .user, .system, .developer:
                open = []
            }
        }
        return linked
    }
}
