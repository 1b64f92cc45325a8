/// Validation of a Responses API body. One policy for what the service cannot honour (README, "The Responses
/// API"): parameters that would change the answer's meaning (`background`, `conversation`, `prompt`, `truncation:
/// auto`, `include` entries, built-in tools) are a 400 naming the field; sampling and bookkeeping parameters are
/// validated and ignored; unknown fields are ignored.
extension ResponsesRequest: RequestValidating {
    static let ignoredWhenPresent = [
        "temperature", "top_p", "top_logprobs", "user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention",
        "service_tier", "max_tool_calls", "stream_options",
    ]

    public static func validate(_ json: JSONValue, maximumOutputTokens: Int) throws(APIError) -> ResponsesRequest {
        guard case .object(let body) = json else { throw APIError.invalidType("body", expected: "an object", got: json.typeName) }
        let model = try requiredString(body, "model")
        try refuseUnsupported(body)
        var instructions: String?
        if let value = body["instructions"], value != .null {
            guard case .string(let text) = value else { throw APIError.invalidType("instructions", expected: "a string", got: value.typeName) }
            instructions = text.isEmpty ? nil : text
        }
        let items = try ResponseItems.normalise(body["input"])
        var previous: String?
        if let value = body["previous_response_id"], value != .null { previous = try requiredString(body, "previous_response_id") }
        let stream = try optionalBool(body, "stream") ?? false
        let store = try optionalBool(body, "store") ?? true
        let maxTokens = try optionalInteger(body, "max_output_tokens", minimum: 1)
        if let maxTokens, maxTokens > maximumOutputTokens {
            throw APIError.invalidValue("max_output_tokens", "max_output_tokens is too large: \(maxTokens). This service supports at most \(maximumOutputTokens).")
        }
        try optionalNumber(body, "temperature", in: 0...2)
        try optionalNumber(body, "top_p", in: 0...1)
        var thinking = try validateReasoning(body["reasoning"])
        if let budget = thinking, let maxTokens { thinking = maxTokens <= 1024 ? nil : min(budget, maxTokens - 1) }
        let tools = try validateTools(body)
        var echo: [String: JSONValue] = [:]
        echo["tools"] = body["tools"].flatMap { $0 == .null ? nil : $0 } ?? .array([])
        echo["tool_choice"] = body["tool_choice"].flatMap { $0 == .null ? nil : $0 } ?? .string("auto")
        echo["parallel_tool_calls"] = .bool(tools.parallelCalls)
        echo["text"] = .object(["format": body["text"]?["format"] ?? .object(["type": .string("text")]),
                                "verbosity": body["text"]?["verbosity"] ?? .string("medium")])
        echo["reasoning"] = .object(["effort": body["reasoning"]?["effort"] ?? .null, "summary": body["reasoning"]?["summary"] ?? .null])
        if let metadata = body["metadata"], metadata != .null {
            guard case .object(let fields) = metadata, fields.count <= 16, fields.values.allSatisfy({ $0.stringValue != nil }) else {
                throw APIError.invalidValue("metadata", "'metadata' must be an object of at most 16 string values.")
            }
            echo["metadata"] = metadata
        } else {
            echo["metadata"] = .object([:])
        }
        for key in ["temperature", "top_p", "user", "service_tier"] { echo[key] = body[key] ?? .null }
        let ignored = ignoredWhenPresent.filter { body[$0] != nil && body[$0] != .null }
        return ResponsesRequest(model: model, instructions: instructions, inputItems: items, previousResponseID: previous,
                                maxOutputTokens: maxTokens, stream: stream, store: store, thinkingBudget: thinking, tools: tools,
                                echo: echo, ignoredParameters: ignored)
    }

    private static func refuseUnsupported(_ body: [String: JSONValue]) throws(APIError) {
        if try optionalBool(body, "background") == true {
            throw APIError.unsupportedParameter("background", "Background responses are not supported: each response is answered while the request is open (use stream: true for long ones).")
        }
        for key in ["conversation", "prompt"] where body[key] != nil && body[key] != .null {
            throw APIError.unsupportedParameter(key, key == "conversation"
                ? "The Conversations API is not supported: continue a conversation with previous_response_id."
                : "Prompt templates are not supported: send instructions and input.")
        }
        if let truncation = body["truncation"], truncation != .null, truncation != .string("disabled") {
            throw APIError.unsupportedParameter("truncation", "Only truncation 'disabled' is supported: a conversation over the context window is an error, never cut silently.")
        }
        if let include = body["include"], include != .null {
            guard case .array(let entries) = include else { throw APIError.invalidType("include", expected: "an array", got: include.typeName) }
            if let first = entries.first {
                throw APIError.unsupportedParameter("include", "'include' entries are not supported (\(first.stringValue ?? first.typeName)): this service cannot fill them.")
            }
        }
    }

    private static func validateReasoning(_ value: JSONValue?) throws(APIError) -> Int? {
        guard let value, value != .null else { return nil }
        guard case .object(let fields) = value else { throw APIError.invalidType("reasoning", expected: "an object", got: value.typeName) }
        guard let effort = fields["effort"], effort != .null else { return nil }
        guard case .string(let name) = effort, let budget = ChatCompletionRequest.reasoningBudgets[name] else {
            throw APIError.invalidValue("reasoning.effort", "Invalid 'reasoning.effort': use 'none', 'minimal', 'low', 'medium', 'high' or 'xhigh'.")
        }
        return budget
    }

    static let builtInToolTypes = ["web_search", "web_search_preview", "file_search", "computer_use_preview", "computer",
                                   "code_interpreter", "image_generation", "mcp", "local_shell", "shell", "apply_patch", "custom"]

    private static func validateTools(_ body: [String: JSONValue]) throws(APIError) -> TurnTools {
        var offered: [ClientTool] = []
        if let value = body["tools"], value != .null {
            guard case .array(let items) = value else { throw APIError.invalidType("tools", expected: "an array", got: value.typeName) }
            guard items.count <= ChatCompletionRequest.maximumTools else { throw APIError.invalidValue("tools", "At most \(ChatCompletionRequest.maximumTools) tools may be offered.") }
            for (index, item) in items.enumerated() {
                let path = "tools[\(index)]"
                guard case .object(let fields) = item else { throw APIError.invalidType(path, expected: "an object", got: item.typeName) }
                let type = try requiredString(fields, "type", path: "\(path).type")
                guard type == "function" else {
                    throw APIError.unsupportedParameter("\(path).type", "Only tools of type 'function' are supported; built-in '\(type)' tools are not available on this service.")
                }
                let name = try requiredString(fields, "name", path: "\(path).name")
                guard ClientTool.isValidName(name) else {
                    throw APIError.invalidValue("\(path).name", "Invalid tool name '\(name)': use 1 to 64 letters, digits, underscores and dashes (other characters would be rewritten).")
                }
                guard !offered.contains(where: { $0.name == name }) else { throw APIError.invalidValue("\(path).name", "Tool names must be unique; '\(name)' is given twice.") }
                var description = ""
                if let given = fields["description"], given != .null {
                    guard case .string(let text) = given else { throw APIError.invalidType("\(path).description", expected: "a string", got: given.typeName) }
                    guard text.count <= ClientTool.maximumDescriptionLength else {
                        throw APIError.invalidValue("\(path).description", "Tool descriptions may be at most \(ClientTool.maximumDescriptionLength) characters (longer ones would be cut); this one has \(text.count).")
                    }
                    description = text
                }
                var schema: JSONValue = .object(["type": .string("object"), "properties": .object([:])])
                if let parameters = fields["parameters"], parameters != .null {
                    guard case .object = parameters else { throw APIError.invalidType("\(path).parameters", expected: "an object", got: parameters.typeName) }
                    schema = parameters
                }
                // The Responses API's default is strict.
                let strict = try optionalBool(fields, "strict", path: "\(path).strict") ?? true
                offered.append(ClientTool(name: name, description: description, inputSchema: schema, strict: strict))
            }
        }
        let choice = try validateChoice(body["tool_choice"], offered: offered)
        let parallel = try optionalBool(body, "parallel_tool_calls") ?? true
        let format = try validateFormat(body["text"])
        if format != .text, offered.contains(where: { $0.name == TurnTools.structuredOutputToolName }) {
            throw APIError.invalidValue("tools", "The tool name '\(TurnTools.structuredOutputToolName)' is reserved when text.format asks for JSON.")
        }
        return TurnTools(offered: offered, choice: choice, parallelCalls: parallel, outputFormat: format)
    }

    private static func validateChoice(_ value: JSONValue?, offered: [ClientTool]) throws(APIError) -> ToolChoice {
        let choice: ToolChoice
        switch value {
        case nil, .null?, .string("auto")?: return .auto
        case .string("none")?: return .none
        case .string("required")?: choice = .required
        case .string(let other)?: throw APIError.invalidValue("tool_choice", "Invalid 'tool_choice': '\(other)'. Use 'auto', 'none', 'required' or a function.")
        case .object(let fields)?:
            let type = try requiredString(fields, "type", path: "tool_choice.type")
            guard type == "function" else {
                throw APIError.unsupportedParameter("tool_choice.type", "Only 'function' tool choices are supported, not '\(type)'.")
            }
            let name = try requiredString(fields, "name", path: "tool_choice.name")
            guard offered.contains(where: { $0.name == name }) else {
                throw APIError.invalidValue("tool_choice", "'tool_choice' names '\(name)', which is not among the offered tools.")
            }
            choice = .function(name)
        case let other?: throw APIError.invalidType("tool_choice", expected: "a string or an object", got: other.typeName)
        }
        guard !offered.isEmpty else { throw APIError.invalidValue("tool_choice", "'tool_choice' requires tools to be offered.") }
        return choice
    }

    private static func validateFormat(_ value: JSONValue?) throws(APIError) -> OutputFormat {
        guard let value, value != .null else { return .text }
        guard case .object(let text) = value else { throw APIError.invalidType("text", expected: "an object", got: value.typeName) }
        guard let format = text["format"], format != .null else { return .text }
        guard case .object(let fields) = format else { throw APIError.invalidType("text.format", expected: "an object", got: format.typeName) }
        switch try requiredString(fields, "type", path: "text.format.type") {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            let name = try requiredString(fields, "name", path: "text.format.name")
            var schema: JSONValue = .object(["type": .string("object")])
            if let given = fields["schema"], given != .null {
                guard case .object = given else { throw APIError.invalidType("text.format.schema", expected: "an object", got: given.typeName) }
                schema = given
            }
            return .jsonSchema(name: name, schema: schema, strict: try optionalBool(fields, "strict", path: "text.format.strict") ?? false)
        case let other:
            throw APIError.invalidValue("text.format.type", "Invalid text.format type '\(other)': use 'text', 'json_object' or 'json_schema'.")
        }
    }
}
