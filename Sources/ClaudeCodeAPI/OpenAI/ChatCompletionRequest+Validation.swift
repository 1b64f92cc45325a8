/// Validation of a request body into a `ChatCompletionRequest`. Each failure names the offending `param`,
/// with OpenAI's wording where OpenAI has one.
extension ChatCompletionRequest: RequestValidating {
    /// Parameters accepted and validated, but that the CLI cannot honour (README: "Parameter policy").
    static let ignoredWhenPresent = [
        "temperature", "top_p", "seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
        "user", "metadata", "store", "service_tier", "modalities", "audio", "prediction",
        "verbosity", "web_search_options", "safety_identifier",
        "prompt_cache_key",
    ]

    /// Bounds on what one request may hold, so that a body within the size limit cannot hold the service's memory
    /// (or upstream's patience) hostage: more would be refused upstream anyway.
    static let maximumMessages = 2_000
    static let maximumPartsPerMessage = 500
    /// Anthropic's own limit of images per request.
    static let maximumImages = 100

    public static func validate(_ json: JSONValue, maximumOutputTokens: Int) throws(APIError) -> ChatCompletionRequest {
        guard case .object(let body) = json else {
            throw APIError.invalidType("body", expected: "an object", got: json.typeName)
        }
        let model = try requiredString(body, "model")
        let messages = try validateMessages(body["messages"])

        let stream = try optionalBool(body, "stream") ?? false
        var includeUsage = false
        if let options = body["stream_options"], options != .null {
            guard stream else {
                throw APIError.invalidValue("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
            }
            guard case .object(let fields) = options else {
                throw APIError.invalidType("stream_options", expected: "an object", got: options.typeName)
            }
            includeUsage = try optionalBool(fields, "include_usage", path: "stream_options.include_usage") ?? false
        }

        var maxTokens = try optionalInteger(body, "max_tokens", minimum: 1)
        if let completionTokens = try optionalInteger(body, "max_completion_tokens", minimum: 1) {
            maxTokens = completionTokens
        }
        if let maxTokens, maxTokens > maximumOutputTokens {
            let param = body["max_completion_tokens"].map { $0 != .null } == true ? "max_completion_tokens" : "max_tokens"
            throw APIError.invalidValue(param,
                "max_tokens is too large: \(maxTokens). This service supports at most \(maximumOutputTokens) completion tokens.")
        }

        if let n = try optionalInteger(body, "n", minimum: 1), n != 1 {
            throw APIError.unsupportedParameter("n", "Only n=1 is supported: the Claude CLI produces one answer per request.")
        }
        try optionalNumber(body, "temperature", in: 0...2)
        try optionalNumber(body, "top_p", in: 0...1)
        try optionalNumber(body, "presence_penalty", in: -2...2)
        try optionalNumber(body, "frequency_penalty", in: -2...2)
        _ = try optionalBool(body, "logprobs")
        let stopSequences = try validateStop(body["stop"])
        var thinkingBudget = try validateReasoningEffort(body["reasoning_effort"])
        if let thinking = try validateThinking(body["thinking"]) { thinkingBudget = thinking }
        // The API wants 1024 <= budget < max_tokens: no room for thinking below that.
        if let budget = thinkingBudget, let maxTokens {
            thinkingBudget = maxTokens <= 1024 ? nil : min(budget, maxTokens - 1)
        }
        let (tools, legacy) = try validateTools(body, messages: messages)

        let ignored = ignoredWhenPresent.filter { body[$0] != nil && body[$0] != .null }
        return ChatCompletionRequest(model: model, messages: messages, stream: stream, includeUsageInStream: includeUsage,
                                     maxTokens: maxTokens, stopSequences: stopSequences, thinkingBudget: thinkingBudget,
                                     ignoredParameters: ignored, tools: tools, legacyFunctions: legacy)
    }

    // MARK: Messages

    private static func validateMessages(_ value: JSONValue?) throws(APIError) -> [ChatMessage] {
        guard let value, value != .null else { throw APIError.missingParameter("messages") }
        guard case .array(let items) = value else {
            throw APIError.invalidType("messages", expected: "an array", got: value.typeName)
        }
        guard !items.isEmpty else { throw APIError.emptyArray("messages") }
        guard items.count <= maximumMessages else {
            throw APIError.invalidValue("messages", "Too many messages: \(items.count). This service accepts at most \(maximumMessages).")
        }
        var messages: [ChatMessage] = []
        var images = 0
        for (index, item) in items.enumerated() {
            let message = try validateMessage(item, path: "messages[\(index)]")
            images += message.content.count { if case .image = $0 { true } else { false } }
            guard images <= maximumImages else {
                throw APIError.invalidValue("messages[\(index)].content", "Too many images: at most \(maximumImages) per request.")
            }
            messages.append(message)
        }
        guard let last = messages.last(where: { $0.role != .system && $0.role != .developer }) else {
            throw APIError.invalidValue("messages", "The messages must contain at least one message with role 'user'.")
        }
        guard last.role == .user || last.role == .tool || last.role == .function else {
            throw APIError.invalidValue("messages[\(messages.count - 1)].role",
                "The last message must have role 'user' or 'tool': the Claude CLI cannot continue a partial assistant message.")
        }
        return try linkToolResults(messages)
    }

    private static func validateMessage(_ value: JSONValue, path: String) throws(APIError) -> ChatMessage {
        guard case .object(let fields) = value else {
            throw APIError.invalidType(path, expected: "an object", got: value.typeName)
        }
        guard let roleValue = fields["role"], roleValue != .null else { throw APIError.missingParameter("\(path).role") }
        guard case .string(let roleName) = roleValue else {
            throw APIError.invalidType("\(path).role", expected: "a string", got: roleValue.typeName)
        }
        guard let role = ChatMessage.Role(rawValue: roleName) else {
            throw APIError.invalidValue("\(path).role",
                "Invalid value: '\(roleName)'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.")
        }
        switch role {
        case .tool:
            let id = try requiredString(fields, "tool_call_id", path: "\(path).tool_call_id")
            return ChatMessage(role: role, content: [.toolResult(toolUseID: id, content: try validateToolResultContent(fields["content"], path: "\(path).content"),
                                                                 isError: false)])
        case .function:
            // Legacy: linked to the preceding function_call by position (`linkToolResults`).
            _ = try requiredString(fields, "name", path: "\(path).name")
            return ChatMessage(role: role, content: [.toolResult(toolUseID: "", content: try validateToolResultContent(fields["content"], path: "\(path).content"),
                                                                 isError: false)])
        case .assistant:
            let content = fields["content"] ?? .null
            var parts: [ContentPart] = content == .null ? [] : try validateContent(content, path: "\(path).content", allowImages: false)
            parts += try validateToolCalls(fields, path: path)
            return ChatMessage(role: role, content: parts)
        case .system, .developer, .user:
            guard let content = fields["content"], content != .null else { throw APIError.missingParameter("\(path).content") }
            return ChatMessage(role: role, content: try validateContent(content, path: "\(path).content", allowImages: role == .user))
        }
    }

    private static func validateContent(_ value: JSONValue, path: String, allowImages: Bool) throws(APIError) -> [ContentPart] {
        switch value {
        case .string(let text):
            return [.text(text)]
        case .array(let parts):
            guard parts.count <= maximumPartsPerMessage else {
                throw APIError.invalidValue(path, "Too many content parts: \(parts.count). At most \(maximumPartsPerMessage) per message.")
            }
            var result: [ContentPart] = []
            for (index, part) in parts.enumerated() {
                result.append(try validatePart(part, path: "\(path)[\(index)]", allowImages: allowImages))
            }
            return result
        default:
            throw APIError.invalidType(path, expected: "one of a string or array of objects", got: value.typeName)
        }
    }

    private static func validatePart(_ value: JSONValue, path: String, allowImages: Bool) throws(APIError) -> ContentPart {
        guard case .object(let fields) = value else {
            throw APIError.invalidType(path, expected: "an object", got: value.typeName)
        }
        let type = try requiredString(fields, "type", path: "\(path).type")
        switch type {
        case "text", "refusal":
            let key = type == "text" ? "text" : "refusal"
            guard let text = fields[key], case .string(let string) = text else {
                if let text = fields[key] { throw APIError.invalidType("\(path).\(key)", expected: "a string", got: text.typeName) }
                throw APIError.missingParameter("\(path).\(key)")
            }
            return .text(string)
        case "image_url" where allowImages:
            return try validateImage(fields["image_url"], path: "\(path).image_url")
        case "image_url":
            throw APIError.invalidValue("\(path).type", "Image content is only supported in user messages.")
        default:
            throw APIError.invalidValue("\(path).type",
                "Invalid value: '\(type)'. Supported content part types are 'text' and 'image_url' (inline data: URLs).")
        }
    }

    private static let imageMediaTypes: Set = ["image/jpeg", "image/png", "image/gif", "image/webp"]

    static func validateImage(_ value: JSONValue?, path: String) throws(APIError) -> ContentPart {
        let url: String
        switch value {
        case .string(let string)?: url = string
        case .object(let fields)?: url = try requiredString(fields, "url", path: "\(path).url")
        case nil, .null?: throw APIError.missingParameter(path)
        case let other?: throw APIError.invalidType(path, expected: "an object", got: other.typeName)
        }
        guard url.hasPrefix("data:") else {
            throw APIError.unsupportedImageURL(param: "\(path).url")
        }
        // data:<media type>;base64,<data>
        guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
            throw APIError.invalidValue("\(path).url", "Invalid image data URL: expected 'data:<media type>;base64,<data>'.")
        }
        let mediaType = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)).lowercased()
        guard imageMediaTypes.contains(mediaType) else {
            throw APIError.invalidValue("\(path).url",
                "Unsupported image type '\(mediaType)'. Supported: \(imageMediaTypes.sorted().joined(separator: ", ")).")
        }
        let data = String(url[url.index(after: comma)...])
        guard !data.isEmpty, data.utf8.allSatisfy(isBase64Byte) else {
            throw APIError.invalidValue("\(path).url", "Invalid image data URL: the data is not base64.")
        }
        return .image(mediaType: mediaType, base64Data: data)
    }

    private static func isBase64Byte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): true
        default: false
        }
    }

    private static func validateStop(_ value: JSONValue?) throws(APIError) -> [String] {
        switch value {
        case nil, .null?: return []
        case .string(let stop)?: return [try checkedStop(stop, param: "stop")]
        case .array(let items)?:
            guard items.count <= 4 else { throw APIError.invalidValue("stop", "'stop' takes at most 4 sequences.") }
            return try items.enumerated().map { (index, item) throws(APIError) -> String in
                guard case .string(let stop) = item else {
                    throw APIError.invalidType("stop[\(index)]", expected: "a string", got: item.typeName)
                }
                return try checkedStop(stop, param: "stop[\(index)]")
            }
        case let other?:
            throw APIError.invalidType("stop", expected: "a string or an array of strings", got: other.typeName)
        }
    }


    /// Thinking budgets for OpenAI's `reasoning_effort`.
    static let reasoningBudgets: [String: Int?] = [
        "none": nil, "minimal": nil, "low": 2_048, "medium": 8_192, "high": 24_576, "xhigh": 32_000,
    ]

    private static func validateReasoningEffort(_ value: JSONValue?) throws(APIError) -> Int? {
        switch value {
        case nil, .null?: return nil
        case .string(let effort)?:
            guard let budget = reasoningBudgets[effort] else {
                throw APIError.invalidValue("reasoning_effort",
                    "Invalid value: '\(effort)'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high' and 'xhigh'.")
            }
            return budget
        case let other?:
            throw APIError.invalidType("reasoning_effort", expected: "a string", got: other.typeName)
        }
    }

    /// Anthropic's own form, as its OpenAI compatibility layer accepts it: `{"type":"enabled","budget_tokens":N}`.

}
