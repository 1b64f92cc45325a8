/// Validation of a Messages API body: each failure names the field, with Anthropic's statuses.
extension MessagesRequest: RequestValidating {
    static let ignoredWhenPresent = ["temperature", "top_p", "top_k", "metadata", "service_tier", "container", "mcp_servers"]
    static let maximumStopSequences = 16

    public static func validate(_ json: JSONValue, maximumOutputTokens: Int) throws(APIError) -> MessagesRequest {
        guard case .object(let body) = json else { throw APIError.invalidType("body", expected: "an object", got: json.typeName) }
        let model = try requiredString(body, "model")
        guard let maxTokens = try optionalInteger(body, "max_tokens", minimum: 1) else { throw APIError.missingParameter("max_tokens") }
        guard maxTokens <= maximumOutputTokens else {
            throw APIError.invalidValue("max_tokens", "max_tokens is too large: \(maxTokens). This service supports at most \(maximumOutputTokens).")
        }
        var messages = try validateSystem(body["system"])
        messages += try validateMessages(body["messages"])
        let stream = try optionalBool(body, "stream") ?? false

        var stops: [String] = []
        if let value = body["stop_sequences"], value != .null {
            guard case .array(let items) = value else { throw APIError.invalidType("stop_sequences", expected: "an array", got: value.typeName) }
            guard items.count <= maximumStopSequences else {
                throw APIError.invalidValue("stop_sequences", "At most \(maximumStopSequences) stop sequences are supported.")
            }
            stops = try items.enumerated().map { (index, item) throws(APIError) -> String in
                guard case .string(let stop) = item else { throw APIError.invalidType("stop_sequences[\(index)]", expected: "a string", got: item.typeName) }
                return try checkedStop(stop, param: "stop_sequences[\(index)]")
            }
        }
        var thinking = try validateThinking(body["thinking"]) ?? nil
        if let budget = thinking { thinking = maxTokens <= 1024 ? nil : min(budget, maxTokens - 1) }
        let tools = try validateTools(body, messages: messages)
        let ignored = ignoredWhenPresent.filter { body[$0] != nil && body[$0] != .null }
        return MessagesRequest(model: model, messages: messages, maxTokens: maxTokens, stream: stream, stopSequences: stops,
                               thinkingBudget: thinking, tools: tools, ignoredParameters: ignored)
    }

    private static func validateSystem(_ value: JSONValue?) throws(APIError) -> [ChatMessage] {
        switch value {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [ChatMessage(role: .system, content: [.text(text)])]
        case .array(let blocks)?:
            let texts = try blocks.enumerated().map { (index, block) throws(APIError) -> String in
                guard case .object(let fields) = block, fields["type"] == .string("text") else {
                    throw APIError.invalidValue("system[\(index)]", "System blocks must be text blocks.")
                }
                return try requiredString(fields, "text", path: "system[\(index)].text")
            }
            return [ChatMessage(role: .system, content: texts.map(ContentPart.text))]
        case let other?:
            throw APIError.invalidType("system", expected: "a string or an array of text blocks", got: other.typeName)
        }
    }

    private static func validateMessages(_ value: JSONValue?) throws(APIError) -> [ChatMessage] {
        guard case .array(let items)? = value else {
            if value == nil || value == .null { throw APIError.missingParameter("messages") }
            throw APIError.invalidType("messages", expected: "an array", got: value!.typeName)
        }
        guard !items.isEmpty else { throw APIError.emptyArray("messages") }
        guard items.count <= ChatCompletionRequest.maximumMessages else {
            throw APIError.invalidValue("messages", "Too many messages: at most \(ChatCompletionRequest.maximumMessages).")
        }
        var messages: [ChatMessage] = []
        var openCalls: [String] = []
        for (index, item) in items.enumerated() {
            let path = "messages.\(index)"
            guard case .object(let fields) = item else { throw APIError.invalidType(path, expected: "an object", got: item.typeName) }
            let role = try requiredString(fields, "role", path: "\(path).role")
            guard role == "user" || role == "assistant" else {
                throw APIError.invalidValue("\(path).role", "Invalid role '\(role)': use 'user' or 'assistant' (the system prompt is 'system').")
            }
            let parts = try validateContent(fields["content"], path: "\(path).content", assistant: role == "assistant")
            if role == "assistant" {
                openCalls = parts.compactMap { if case .toolUse(let id, _, _) = $0 { id } else { nil } }
                messages.append(ChatMessage(role: .assistant, content: parts))
            } else {
                for case .toolResult(let id, _, _) in parts {
                    guard let position = openCalls.firstIndex(of: id) else {
                        throw APIError.invalidValue("\(path).content", "tool_result '\(id)' does not answer a tool_use of the assistant message before it.")
                    }
                    openCalls.remove(at: position)
                }
                openCalls = []
                messages.append(ChatMessage(role: .user, content: parts))
            }
        }
        guard messages.last?.role == .user else {
            throw APIError.invalidValue("messages.\(items.count - 1).role",
                "The last message must have role 'user': the Claude CLI cannot continue a partial assistant message.")
        }
        return messages
    }

    private static func validateContent(_ value: JSONValue?, path: String, assistant: Bool) throws(APIError) -> [ContentPart] {
        switch value {
        case .string(let text)?: return [.text(text)]
        case .array(let blocks)?:
            guard blocks.count <= ChatCompletionRequest.maximumPartsPerMessage else {
                throw APIError.invalidValue(path, "Too many content blocks: at most \(ChatCompletionRequest.maximumPartsPerMessage) per message.")
            }
            var parts: [ContentPart] = []
            for (index, block) in blocks.enumerated() {
                if let part = try validateBlock(block, path: "\(path).\(index)", assistant: assistant) { parts.append(part) }
            }
            return parts
        case nil, .null?: throw APIError.missingParameter(path)
        case let other?: throw APIError.invalidType(path, expected: "a string or an array of content blocks", got: other.typeName)
        }
    }

    private static func validateBlock(_ value: JSONValue, path: String, assistant: Bool) throws(APIError) -> ContentPart? {
        guard case .object(let fields) = value else { throw APIError.invalidType(path, expected: "an object", got: value.typeName) }
        let type = try requiredString(fields, "type", path: "\(path).type")
        switch type {
        case "text":
            guard case .string(let text)? = fields["text"] else { throw APIError.missingParameter("\(path).text") }
            return .text(text)
        case "image" where !assistant:
            guard case .object(let source)? = fields["source"] else { throw APIError.missingParameter("\(path).source") }
            guard source["type"] == .string("base64") else {
                throw APIError.unsupportedImageURL(param: "\(path).source")
            }
            let mediaType = try requiredString(source, "media_type", path: "\(path).source.media_type")
            guard ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(mediaType) else {
                throw APIError.invalidValue("\(path).source.media_type", "Unsupported image type '\(mediaType)'.")
            }
            return .image(mediaType: mediaType, base64Data: try requiredString(source, "data", path: "\(path).source.data"))
        case "tool_use" where assistant:
            let id = try requiredString(fields, "id", path: "\(path).id")
            let name = try requiredString(fields, "name", path: "\(path).name")
            guard case .object? = fields["input"] else { throw APIError.invalidType("\(path).input", expected: "an object", got: fields["input"]?.typeName ?? "null") }
            return .toolUse(id: id, name: name, input: fields["input"]!)
        case "tool_result" where !assistant:
            let id = try requiredString(fields, "tool_use_id", path: "\(path).tool_use_id")
            let content = try ChatCompletionRequest.validateToolResultContent(fields["content"], path: "\(path).content")
            return .toolResult(toolUseID: id, content: content, isError: try optionalBool(fields, "is_error", path: "\(path).is_error") ?? false)
        case "thinking" where assistant, "redacted_thinking" where assistant:
            return nil  // earlier thinking is not replayed: its signature cannot be passed through the CLI
        default:
            throw APIError.invalidValue("\(path).type", "Content blocks of type '\(type)' are not supported here.")
        }
    }

    private static func validateTools(_ body: [String: JSONValue], messages: [ChatMessage]) throws(APIError) -> TurnTools {
        var offered: [ClientTool] = []
        if let value = body["tools"], value != .null {
            guard case .array(let items) = value else { throw APIError.invalidType("tools", expected: "an array", got: value.typeName) }
            for (index, item) in items.enumerated() {
                let path = "tools.\(index)"
                guard case .object(let fields) = item else { throw APIError.invalidType(path, expected: "an object", got: item.typeName) }
                if let type = fields["type"]?.stringValue, type != "custom" {
                    throw APIError.unsupportedParameter("\(path).type", "Server tools ('\(type)') are not supported; only client tools are.")
                }
                let name = try requiredString(fields, "name", path: "\(path).name")
                guard ClientTool.isValidName(name) else { throw APIError.invalidValue("\(path).name", "Invalid tool name '\(name)'.") }
                guard !offered.contains(where: { $0.name == name }) else { throw APIError.invalidValue("\(path).name", "Tool names must be unique.") }
                let description = fields["description"]?.stringValue ?? ""
                guard description.count <= ClientTool.maximumDescriptionLength else {
                    throw APIError.invalidValue("\(path).description", "Tool descriptions may be at most \(ClientTool.maximumDescriptionLength) characters.")
                }
                guard case .object? = fields["input_schema"] else { throw APIError.missingParameter("\(path).input_schema") }
                offered.append(ClientTool(name: name, description: description, inputSchema: fields["input_schema"]!))
            }
        }
        var choice = ToolChoice.auto
        var parallel = true
        if case .object(let fields)? = body["tool_choice"] {
            switch try requiredString(fields, "type", path: "tool_choice.type") {
            case "auto": choice = .auto
            case "any": choice = .required
            case "none": choice = .none
            case "tool":
                let name = try requiredString(fields, "name", path: "tool_choice.name")
                guard offered.contains(where: { $0.name == name }) else { throw APIError.invalidValue("tool_choice.name", "'\(name)' is not among the tools.") }
                choice = .function(name)
            case let other: throw APIError.invalidValue("tool_choice.type", "Invalid tool_choice type '\(other)'.")
            }
            parallel = !(try optionalBool(fields, "disable_parallel_tool_use", path: "tool_choice.disable_parallel_tool_use") ?? false)
        }
        var names = Set(offered.map(\.name))
        var fromHistory: [ClientTool] = []
        for message in messages {
            for case .toolUse(_, let name, _) in message.content where names.insert(name).inserted { fromHistory.append(ClientTool(name: name)) }
        }
        return TurnTools(offered: offered, fromHistory: fromHistory, choice: choice, parallelCalls: parallel)
    }
}
