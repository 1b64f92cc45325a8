import FoundationEssentials

/// Turns one stream-json line into a `CLIEvent`. The only place that knows the CLI's JSON shapes.
public struct CLIEventDecoder: Sendable {
    public enum DecodingFailure: Error, Equatable {
        case notJSON
        case missingType
    }

    /// One decoder for every line of a turn (this runs once per streamed token).
    private let decoder = JSONDecoder()

    public init() {}

    public func decode(line: some Collection<UInt8>) throws -> CLIEvent {
        // Most lines of a turn are text deltas: those are read in place (see TextDeltaLine), the rest in full.
        if let event = line.withContiguousStorageIfAvailable({ TextDeltaLine.event(in: UnsafeRawBufferPointer($0)) }) ?? nil {
            return event
        }
        return try decodeInFull(line: line)
    }

    /// The general decoder, for every line shape (the fast path's reference in the tests).
    func decodeInFull(line: some Collection<UInt8>) throws -> CLIEvent {
        let raw: RawLine
        do {
            raw = try line.withContiguousStorageIfAvailable { bytes in
                // The line's own bytes, not a copy of them: the `assistant` and `result` lines of a long answer each
                // hold all of its text. The Data does not outlive this closure (the decoder keeps nothing of it).
                guard let base = bytes.baseAddress else { return try decoder.decode(RawLine.self, from: Data()) }
                let view = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
                return try decoder.decode(RawLine.self, from: view)
            } ?? decoder.decode(RawLine.self, from: Data(line))
        } catch {
            throw DecodingFailure.notJSON
        }
        guard let type = raw.type else { throw DecodingFailure.missingType }
        switch type {
        case "system":
            switch raw.subtype {
            case "init": return .initialized(model: raw.model, version: raw.claudeCodeVersion)
            case "api_retry":
                return .apiRetry(CLIRetry(attempt: raw.attempt, maxRetries: raw.maxRetries, delayMilliseconds: raw.retryDelayMs,
                                          errorStatus: raw.errorStatus, error: raw.errorText))
            default: return .other(type: "system/\(raw.subtype ?? "")")
            }
        case "stream_event":
            guard let event = raw.event else { return .other(type: type) }
            return event.cliEvent(abandoned: raw.abandonedBlocks)
        case "assistant":
            guard let message = raw.message else { return .other(type: type) }
            let texts = (message.content ?? []).filter { $0.type == "text" }.map { $0.text ?? "" }
            let toolUses = (message.content ?? []).filter { $0.type == "tool_use" }.map {
                CLIToolUse(id: $0.id ?? "", name: $0.name ?? "", input: $0.input ?? .object([:]))
            }
            // One text block (the usual case) is passed on as it is: a long answer is not copied once more.
            return .assistant(CLIAssistantMessage(id: message.id, model: message.model, text: texts.count == 1 ? texts[0] : texts.joined(),
                                                  hasText: !texts.isEmpty,
                                                  toolUses: toolUses))
        case "result":
            let usage = raw.usage ?? RawUsage()
            return .result(CLIResult(
                isError: raw.isError ?? true,
                subtype: raw.subtype,
                text: raw.resultText,
                stopReason: raw.stopReason,
                usage: CLIUsage(inputTokens: usage.input ?? 0, outputTokens: usage.output ?? 0,
                                cacheReadInputTokens: usage.cacheRead ?? 0, cacheCreationInputTokens: usage.cacheCreation ?? 0),
                apiErrorStatus: raw.apiErrorStatus,
                apiErrorType: raw.apiErrorType,
                terminalReason: raw.terminalReason))
        case "control_request":
            guard let id = raw.requestID, let request = raw.request else { return .other(type: type) }
            return .controlRequest(CLIControlRequest(requestID: id, subtype: request["subtype"]?.stringValue, request: request))
        case "control_response":
            guard let response = raw.controlResponse, let id = response.requestID else { return .other(type: type) }
            return .controlResponse(CLIControlResponse(requestID: id, isSuccess: response.subtype == "success",
                                                       response: response.response, error: response.error))
        default:
            return .other(type: type)
        }
    }
}

// MARK: - The raw shapes (unknown fields are ignored; every field is optional and read leniently)

private struct RawLine: Decodable {
    var type: String?
    var subtype: String?
    var model: String?
    var claudeCodeVersion: String?
    var attempt: Int?
    var maxRetries: Int?
    var retryDelayMs: Int?
    var errorStatus: Int?
    var errorText: String?
    var event: RawStreamEvent?
    var abandonedBlocks: Bool
    var message: RawMessage?
    var isError: Bool?
    var resultText: String?
    var stopReason: String?
    var usage: RawUsage?
    var apiErrorStatus: Int?
    var apiErrorType: String?
    var terminalReason: String?
    var requestID: String?
    var request: JSONValue?
    var controlResponse: RawControlResponse?

    enum Keys: String, CodingKey {
        case type, subtype, model, attempt, event, message, usage, error, result, request
        case claudeCodeVersion = "claude_code_version"
        case maxRetries = "max_retries"
        case retryDelayMs = "retry_delay_ms"
        case errorStatus = "error_status"
        case abandonedBlocks = "abandoned_blocks"
        case isError = "is_error"
        case stopReason = "stop_reason"
        case apiErrorStatus = "api_error_status"
        case apiErrorType = "api_error_type"
        case terminalReason = "terminal_reason"
        case requestID = "request_id"
        case controlResponse = "response"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        type = try? c.decodeIfPresent(String.self, forKey: .type)
        subtype = try? c.decodeIfPresent(String.self, forKey: .subtype)
        model = try? c.decodeIfPresent(String.self, forKey: .model)
        claudeCodeVersion = try? c.decodeIfPresent(String.self, forKey: .claudeCodeVersion)
        attempt = try? c.decodeIfPresent(Int.self, forKey: .attempt)
        maxRetries = try? c.decodeIfPresent(Int.self, forKey: .maxRetries)
        retryDelayMs = try? c.decodeIfPresent(Int.self, forKey: .retryDelayMs)
        errorStatus = try? c.decodeIfPresent(Int.self, forKey: .errorStatus)
        errorText = try? c.decodeIfPresent(String.self, forKey: .error)
        event = try? c.decodeIfPresent(RawStreamEvent.self, forKey: .event)
        abandonedBlocks = c.contains(.abandonedBlocks) && !((try? c.decodeNil(forKey: .abandonedBlocks)) ?? true)
        message = try? c.decodeIfPresent(RawMessage.self, forKey: .message)
        isError = try? c.decodeIfPresent(Bool.self, forKey: .isError)
        resultText = try? c.decodeIfPresent(String.self, forKey: .result)
        stopReason = try? c.decodeIfPresent(String.self, forKey: .stopReason)
        usage = try? c.decodeIfPresent(RawUsage.self, forKey: .usage)
        apiErrorStatus = try? c.decodeIfPresent(Int.self, forKey: .apiErrorStatus)
        apiErrorType = try? c.decodeIfPresent(String.self, forKey: .apiErrorType)
        terminalReason = try? c.decodeIfPresent(String.self, forKey: .terminalReason)
        if type == "control_request" || type == "control_response" {
            requestID = try? c.decodeIfPresent(String.self, forKey: .requestID)
            request = try? c.decodeIfPresent(JSONValue.self, forKey: .request)
            controlResponse = try? c.decodeIfPresent(RawControlResponse.self, forKey: .controlResponse)
        }
    }
}

private struct RawStreamEvent: Decodable {
    struct Delta: Decodable {
        var type: String?
        var text: String?
        var thinking: String?
        var partial_json: String?
        var stop_reason: String?
    }
    struct ContentBlock: Decodable {
        var type: String?
        var id: String?
        var name: String?
    }
    struct DeltaUsage: Decodable {
        var output_tokens: Int?
    }
    struct Message: Decodable {
        var id: String?
        var usage: RawUsage?
    }
    var type: String?
    var index: Int?
    var delta: Delta?
    var content_block: ContentBlock?
    var message: Message?
    var usage: DeltaUsage?

    func cliEvent(abandoned: Bool) -> CLIEvent {
        switch type {
        case "message_start":
            let usage = message?.usage
            return .messageStart(id: message?.id, usage: CLIUsage(
                inputTokens: usage?.input ?? 0, outputTokens: usage?.output ?? 0,
                cacheReadInputTokens: usage?.cacheRead ?? 0, cacheCreationInputTokens: usage?.cacheCreation ?? 0))
        case "content_block_start" where content_block?.type == "tool_use":
            return .toolUseStart(index: index ?? 0, id: content_block?.id ?? "", name: content_block?.name ?? "")
        case "content_block_delta":
            switch delta?.type {
            case "text_delta": return .textDelta(index: index ?? 0, text: delta?.text ?? "")
            case "thinking_delta": return .thinkingDelta(index: index ?? 0, text: delta?.thinking ?? "")
            case "input_json_delta": return .inputJSONDelta(index: index ?? 0, partialJSON: delta?.partial_json ?? "")
            default: return .other(type: "stream_event/\(delta?.type ?? "delta")")
            }
        case "message_delta": return .messageDelta(stopReason: delta?.stop_reason, outputTokens: usage?.output_tokens)
        case "message_stop": return .messageStop(abandoned: abandoned)
        default: return .other(type: "stream_event/\(type ?? "")")
        }
    }
}

private struct RawControlResponse: Decodable {
    var subtype: String?
    var requestID: String?
    var response: JSONValue?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case subtype, response, error
        case requestID = "request_id"
    }
}

private struct RawMessage: Decodable {
    struct Block: Decodable {
        var type: String?
        var text: String?
        var id: String?
        var name: String?
        var input: JSONValue?
    }
    var id: String?
    var model: String?
    var content: [Block]?
}

private struct RawUsage: Decodable {
    var input: Int?
    var output: Int?
    var cacheRead: Int?
    var cacheCreation: Int?

    enum CodingKeys: String, CodingKey {
        case input = "input_tokens"
        case output = "output_tokens"
        case cacheRead = "cache_read_input_tokens"
        case cacheCreation = "cache_creation_input_tokens"
    }

    init() {}
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        input = try? c.decodeIfPresent(Int.self, forKey: .input)
        output = try? c.decodeIfPresent(Int.self, forKey: .output)
        cacheRead = try? c.decodeIfPresent(Int.self, forKey: .cacheRead)
        cacheCreation = try? c.decodeIfPresent(Int.self, forKey: .cacheCreation)
    }
}
