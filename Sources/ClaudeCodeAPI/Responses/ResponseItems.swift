import HTTPCore

/// The Responses API's conversation items (`message`, `function_call`, `function_call_output`, `reasoning`):
/// checked and normalised from a request's `input`, and turned into the neutral `ChatMessage`s, for the request's
/// own input and for the stored items of a `previous_response_id` chain alike.
enum ResponseItems: RequestValidating {
    /// A new item id: `prefix_` and 32 hex digits.
    static func makeID(_ prefix: String) -> String { prefix + "_" + RequestID.make() }

    /// `input` (a string, or a list of items) as normalised items, each with an id.
    static func normalise(_ value: JSONValue?) throws(APIError) -> [JSONValue] {
        switch value {
        case nil, .null?: throw APIError.missingParameter("input")
        case .string(let text)?: return [message(role: "user", [inputText(text)])]
        case .array(let items)?:
            guard !items.isEmpty else { throw APIError.emptyArray("input") }
            guard items.count <= ChatCompletionRequest.maximumMessages else {
                throw APIError.invalidValue("input", "Too many input items: \(items.count). This service accepts at most \(ChatCompletionRequest.maximumMessages).")
            }
            var normalised: [JSONValue] = []
            for (index, item) in items.enumerated() { normalised.append(try normaliseItem(item, path: "input[\(index)]")) }
            return normalised
        case let other?: throw APIError.invalidType("input", expected: "a string or an array of items", got: other.typeName)
        }
    }

    private static func inputText(_ text: String) -> JSONValue { .object(["type": .string("input_text"), "text": .string(text)]) }

    private static func message(role: String, _ content: [JSONValue], id: String? = nil) -> JSONValue {
        .object(["type": .string("message"), "id": .string(id ?? makeID("msg")), "role": .string(role), "content": .array(content)])
    }

    private static func normaliseItem(_ value: JSONValue, path: String) throws(APIError) -> JSONValue {
        guard case .object(let fields) = value else { throw APIError.invalidType(path, expected: "an object", got: value.typeName) }
        let type = fields["type"]?.stringValue ?? (fields["role"] != nil ? "message" : "")
        var id: String?
        if let given = fields["id"], given != .null {
            guard case .string(let text) = given, !text.isEmpty, text.utf8.count <= 256 else {
                throw APIError.invalidType("\(path).id", expected: "a non-empty string", got: given.typeName)
            }
            id = text
        }
        switch type {
        case "message":
            let role = try requiredString(fields, "role", path: "\(path).role")
            guard ["user", "assistant", "system", "developer"].contains(role) else {
                throw APIError.invalidValue("\(path).role", "Invalid role '\(role)': use 'user', 'assistant', 'system' or 'developer'.")
            }
            return message(role: role, try normaliseContent(fields["content"], path: "\(path).content", role: role), id: id)
        case "function_call":
            let callID = try requiredString(fields, "call_id", path: "\(path).call_id")
            guard callID.utf8.count <= 256, callID.utf8.allSatisfy({ ClientTool.isValidName(String(UnicodeScalar($0))) }) else {
                throw APIError.invalidValue("\(path).call_id", "Call ids may hold letters, digits, underscores and dashes only.")
            }
            let name = try requiredString(fields, "name", path: "\(path).name")
            let arguments = fields["arguments"]?.stringValue ?? "{}"
            guard case .object? = try? JSONValue.parse(Array((arguments.isEmpty ? "{}" : arguments).utf8)) else {
                throw APIError.invalidValue("\(path).arguments", "The arguments of a function call must be a JSON object, as a string.")
            }
            return .object(["type": .string("function_call"), "id": .string(id ?? makeID("fc")), "call_id": .string(callID),
                            "name": .string(name), "arguments": .string(arguments.isEmpty ? "{}" : arguments), "status": .string("completed")])
        case "function_call_output":
            let callID = try requiredString(fields, "call_id", path: "\(path).call_id")
            let output: JSONValue
            switch fields["output"] {
            case .string(let text)?: output = .string(text)
            case .array(let parts)?:
                output = .array(try parts.enumerated().map { (index, part) throws(APIError) -> JSONValue in
                    guard case .object(let p) = part, p["type"] == .string("input_text") || p["type"] == .string("output_text"),
                          case .string(let text)? = p["text"] else {
                        throw APIError.invalidValue("\(path).output[\(index)]", "Function call outputs may hold text parts only.")
                    }
                    return inputText(text)
                })
            case nil, .null?: throw APIError.missingParameter("\(path).output")
            case let other?: throw APIError.invalidType("\(path).output", expected: "a string or an array of text parts", got: other.typeName)
            }
            return .object(["type": .string("function_call_output"), "id": .string(id ?? makeID("fco")), "call_id": .string(callID),
                            "output": output, "status": .string("completed")])
        case "reasoning":
            // Earlier reasoning is accepted and not replayed (its signature cannot pass through the CLI).
            var item = fields
            item["id"] = .string(id ?? makeID("rs"))
            return .object(item)
        case "item_reference":
            throw APIError.unsupportedParameter("\(path).type", "Item references are not supported: send the item itself, or continue with previous_response_id.")
        case "":
            throw APIError.missingParameter("\(path).type")
        default:
            throw APIError.unsupportedParameter("\(path).type", "Input items of type '\(type)' are not supported: only messages, function_call, function_call_output and reasoning items are (built-in tools are not available).")
        }
    }

    private static func normaliseContent(_ value: JSONValue?, path: String, role: String) throws(APIError) -> [JSONValue] {
        let assistant = role == "assistant"
        switch value {
        case .string(let text)?:
            return [assistant ? .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([])]) : inputText(text)]
        case .array(let parts)?:
            guard parts.count <= ChatCompletionRequest.maximumPartsPerMessage else {
                throw APIError.invalidValue(path, "Too many content parts: at most \(ChatCompletionRequest.maximumPartsPerMessage) per message.")
            }
            return try parts.enumerated().map { (index, part) throws(APIError) -> JSONValue in
                let partPath = "\(path)[\(index)]"
                guard case .object(let fields) = part else { throw APIError.invalidType(partPath, expected: "an object", got: part.typeName) }
                let type = try requiredString(fields, "type", path: "\(partPath).type")
                switch type {
                case "input_text", "output_text", "refusal":
                    let key = type == "refusal" ? "refusal" : "text"
                    guard case .string(let text)? = fields[key] else { throw APIError.missingParameter("\(partPath).\(key)") }
                    return assistant ? .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([])]) : inputText(text)
                case "input_image" where role == "user":
                    guard case .string(let url)? = fields["image_url"] else {
                        if fields["file_id"] != nil && fields["file_id"] != .null {
                            throw APIError.unsupportedParameter("\(partPath).file_id", "File ids are not supported: this service has no Files API. Send the image inline as a data: URL.")
                        }
                        throw APIError.missingParameter("\(partPath).image_url")
                    }
                    guard case .image = try ChatCompletionRequest.validateImage(.string(url), path: partPath) else { return part }
                    return .object(["type": .string("input_image"), "image_url": .string(url), "detail": fields["detail"] ?? .string("auto")])
                case "input_image":
                    throw APIError.invalidValue("\(partPath).type", "Images are only supported in user messages.")
                default:
                    throw APIError.unsupportedParameter("\(partPath).type", "Content parts of type '\(type)' are not supported: use input_text, or input_image with a data: URL.")
                }
            }
        case nil, .null?: throw APIError.missingParameter(path)
        case let other?: throw APIError.invalidType(path, expected: "a string or an array of content parts", got: other.typeName)
        }
    }

    /// Normalised items (a request's, or stored ones) as chat messages: consecutive assistant items (a message and
    /// its function calls) become one assistant message; reasoning items are dropped.
    static func messages(_ items: [JSONValue]) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        func appendAssistant(_ parts: [ContentPart]) {
            if messages.last?.role == .assistant { messages[messages.count - 1].content += parts } else { messages.append(ChatMessage(role: .assistant, content: parts)) }
        }
        for item in items {
            switch item["type"]?.stringValue {
            case "message":
                let role = ChatMessage.Role(rawValue: item["role"]?.stringValue ?? "user") ?? .user
                var parts: [ContentPart] = []
                if case .array(let content)? = item["content"] {
                    for part in content {
                        if let text = part["text"]?.stringValue { parts.append(.text(text)) }
                        else if let url = part["image_url"]?.stringValue,
                                case .image(let mediaType, let data)? = try? ChatCompletionRequest.validateImage(.string(url), path: "") {
                            parts.append(.image(mediaType: mediaType, base64Data: data))
                        }
                    }
                }
                if role == .assistant { appendAssistant(parts) } else { messages.append(ChatMessage(role: role, content: parts)) }
            case "function_call":
                let arguments = item["arguments"]?.stringValue ?? "{}"
                let input = (try? JSONValue.parse(Array(arguments.utf8))) ?? .object([:])
                appendAssistant([.toolUse(id: item["call_id"]?.stringValue ?? "", name: item["name"]?.stringValue ?? "", input: input)])
            case "function_call_output":
                var content = item["output"] ?? .string("")
                if case .array(let parts) = content {
                    content = .array(parts.map { .object(["type": .string("text"), "text": $0["text"] ?? .string("")]) })
                }
                messages.append(ChatMessage(role: .tool, content: [.toolResult(toolUseID: item["call_id"]?.stringValue ?? "", content: content, isError: false)]))
            default:
                continue  // reasoning
            }
        }
        return messages
    }

    /// Every function_call_output answers an unanswered call made before it; the conversation ends with the user
    /// (a message or function call outputs). `firstNew`: where this request's own items begin, for the `param`.
    static func check(_ messages: [ChatMessage], firstNew: Int) throws(APIError) {
        var open: Set<String> = []
        for (index, message) in messages.enumerated() {
            for part in message.content {
                switch part {
                case .toolUse(let id, _, _): open.insert(id)
                case .toolResult(let id, _, _):
                    guard open.remove(id) != nil else {
                        throw APIError.invalidValue(index >= firstNew ? "input" : "previous_response_id",
                                                    "No function call with call_id '\(id)' awaits this function_call_output.")
                    }
                default: break
                }
            }
        }
        guard let last = messages.last(where: { $0.role != .system && $0.role != .developer }), last.role == .user || last.role == .tool else {
            throw APIError.invalidValue("input", "The input must end with a user message or function_call_output items: the Claude CLI cannot continue a partial assistant message.")
        }
    }
}
