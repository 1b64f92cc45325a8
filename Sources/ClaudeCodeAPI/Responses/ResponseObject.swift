/// OpenAI's `response` object and its output items, built as JSON: what the non-streaming answer is, what
/// `response.created` / `response.completed` carry, and what is stored.
struct ResponseObject: Sendable {
    let id: String
    let createdAt: Int
    let model: String
    let request: ResponsesRequest

    /// The object in a given state.
    func json(status: String, output: [JSONValue], usage: JSONValue = .null, error: JSONValue = .null,
              incompleteReason: String? = nil) -> JSONValue {
        var fields = request.echo
        fields["id"] = .string(id)
        fields["object"] = .string("response")
        fields["created_at"] = .number(Double(createdAt))
        fields["status"] = .string(status)
        fields["background"] = .bool(false)
        fields["error"] = error
        fields["incomplete_details"] = incompleteReason.map { .object(["reason": .string($0)]) } ?? .null
        fields["instructions"] = request.instructions.map(JSONValue.string) ?? .null
        fields["max_output_tokens"] = request.maxOutputTokens.map { .number(Double($0)) } ?? .null
        fields["max_tool_calls"] = .null
        fields["model"] = .string(model)
        fields["output"] = .array(output)
        fields["previous_response_id"] = request.previousResponseID.map(JSONValue.string) ?? .null
        fields["store"] = .bool(request.store)
        fields["truncation"] = .string("disabled")
        fields["usage"] = usage
        if fields["service_tier"] == nil || fields["service_tier"] == .null { fields["service_tier"] = .string("default") }
        return .object(fields)
    }

    /// The final status of a turn that finished, and why it is incomplete when it is.
    static func status(_ reason: TurnStopReason) -> (status: String, incompleteReason: String?) {
        switch reason {
        case .maxTokens, .contextWindowExceeded: ("incomplete", "max_output_tokens")
        case .refusal: ("incomplete", "content_filter")
        case .endTurn, .stopSequence, .toolUse, .pauseTurn: ("completed", nil)
        }
    }

    /// Usage in the Responses API's shape. The CLI does not split output tokens: reasoning tokens are estimated
    /// from the reasoning text (~4 bytes a token), never above the output tokens.
    static func usage(_ usage: CLIUsage, reasoningText: String) -> JSONValue {
        let reasoning = min(usage.outputTokens, (reasoningText.utf8.count + 3) / 4)
        return .object([
            "input_tokens": .number(Double(usage.promptTokens)),
            "input_tokens_details": .object(["cached_tokens": .number(Double(usage.cacheReadInputTokens))]),
            "output_tokens": .number(Double(usage.outputTokens)),
            "output_tokens_details": .object(["reasoning_tokens": .number(Double(reasoning))]),
            "total_tokens": .number(Double(usage.promptTokens + usage.outputTokens)),
        ])
    }

    static func outputText(_ text: String) -> JSONValue {
        .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([]), "logprobs": .array([])])
    }

    static func message(id: String, text: String?, status: String) -> JSONValue {
        .object(["type": .string("message"), "id": .string(id), "role": .string("assistant"), "status": .string(status),
                 "content": .array(text.map { [outputText($0)] } ?? [])])
    }

    static func reasoning(id: String, text: String?) -> JSONValue {
        .object(["type": .string("reasoning"), "id": .string(id), "summary": .array([]),
                 "content": .array(text.map { [.object(["type": .string("reasoning_text"), "text": .string($0)])] } ?? [])])
    }

    static func functionCall(id: String, callID: String, name: String, arguments: String, status: String) -> JSONValue {
        .object(["type": .string("function_call"), "id": .string(id), "call_id": .string(callID), "name": .string(name),
                 "arguments": .string(arguments), "status": .string(status)])
    }

    /// The `error` of a failed response.
    static func error(_ error: APIError) -> JSONValue {
        .object(["code": .string(error.code.rawValue), "message": .string(error.message)])
    }
}
