import Foundation
import Testing
import HTTPCore
@testable import ClaudeCodeAPI

@Suite("The Anthropic Messages API surface")
struct MessagesAPITests {
    let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))

    func post(_ body: String) -> RecordingResponseWriter {
        app.send("POST", "/v1/messages", body: body)
    }

    @Test("errors take Anthropic's shape and statuses: overload is 529, per-key limits stay 429", arguments: [
        (APIError.overCapacity(retryAfterSeconds: 1), 529, "overloaded_error"),
        (APIError.shuttingDown(), 529, "overloaded_error"),
        (APIError(status: 429, kind: .rateLimit, message: "m", code: .rateLimitExceeded), 429, "rate_limit_error"),
        (APIError.modelNotFound("x"), 404, "not_found_error"),
        (APIError.bodyTooLarge(limit: 1), 413, "request_too_large"),
        (APIError(status: 401, kind: .authentication, message: "m", code: "invalid_api_key"), 401, "authentication_error"),
        (APIError.internalError(requestID: "r"), 500, "api_error"),
    ])
    func errorShape(_ error: APIError, _ status: Int, _ type: String) throws {
        let format = AnthropicErrorFormat()
        #expect(format.status(for: error) == status)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(format.responseBody(for: error))) as? [String: Any])
        #expect(body["type"] as? String == "error")
        #expect((body["error"] as? [String: Any])?["type"] as? String == type)
        #expect(String(decoding: format.streamEvents(for: error), as: UTF8.self).hasPrefix("event: error\ndata: {"))
    }

    @Test("bad Messages requests are 400s naming the field", arguments: [
        (#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}"#, "max_tokens"),
        (#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]}"#, "messages.1.role"),
        (#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"r"}]}]}"#, "messages.0.content"),
        (#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}"#, "tools.0.type"),
        (#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"http://x"}}]}]}"#, "messages.0.content.0.source"),
        // Thinking is the assistant's; in a user turn it is refused, not dropped.
        (#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"x"}]}]}"#, "messages.0.content.0.type"),
        (#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":[{"type":"redacted_thinking","data":"d"},{"type":"text","text":"x"}]}]}"#, "messages.0.content.0.type"),
    ])
    func badRequests(_ body: String, _ param: String) throws {
        let json = try JSONValue.parse(Array(body.utf8))
        let error = #expect(throws: APIError.self) { try MessagesRequest.validate(json, maximumOutputTokens: 1000) }
        #expect(error?.param == param && error?.status == 400, "\(String(describing: error))")
    }

    @Test("a non-streaming answer is one message with upstream's id, stop reason and usage")
    func message() throws {
        let response = post(#"{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200)
        let json = response.json
        #expect(json["type"] as? String == "message" && json["role"] as? String == "assistant")
        #expect((json["content"] as? [[String: Any]])?.first?["text"] as? String == "Hello from the mock! You said: hello")
        #expect(json["stop_reason"] as? String == "end_turn" && json["stop_sequence"] is NSNull)
        #expect((json["id"] as? String)?.hasPrefix("msg_") == true)
        #expect((json["usage"] as? [String: Any])?["input_tokens"] as? Int == 25)
    }

    @Test("a stream is message_start, one text block, message_delta, message_stop")
    func stream() {
        let response = post(#"{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
        let names = response.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(names.first == "message_start" && names.dropFirst().first == "content_block_start")
        #expect(Array(names.suffix(3)) == ["content_block_stop", "message_delta", "message_stop"])
        #expect(response.text.contains(#""stop_reason":"end_turn""#))
    }

    @Test("an early failure is a real status in Anthropic's shape, not a 200 stream")
    func earlyFailure() throws {
        let failing = TestApplication(launcher: ScriptedProcessLauncher.replaying("err_529_default_retries.jsonl"))
        let response = failing.send("POST", "/v1/messages", body: #"{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(response.status == 529)
        #expect((response.json["error"] as? [String: Any])?["type"] as? String == "overloaded_error")
    }

    @Test("Claude model ids that are well formed pass to the CLI; anything else is refused before it", arguments: [
        ("claude-sonnet-4-5-20250929", true), ("claude-3-5-haiku-20241022", true), ("claude-3-5-sonnet-latest", true),
        ("claude-", false), ("claude-x; rm -rf /", false), ("Claude-Sonnet", false), ("gpt-99", false),
    ])
    func modelIDs(_ id: String, _ accepted: Bool) {
        #expect((ModelCatalog(models: ModelCatalog.defaultModels, aliases: [:]).cliModel(for: id) != nil) == accepted)
    }

    @Test("the model list answers in Anthropic's shape when the request says anthropic-version")
    func models() throws {
        let list = app.send("GET", "/v1/models", headers: ["anthropic-version": "2023-06-01"]).json
        let first = try #require((list["data"] as? [[String: Any]])?.first)
        #expect(first["type"] as? String == "model" && first["display_name"] != nil && first["created_at"] != nil)
        #expect(list["has_more"] as? Bool == false)
        #expect(app.send("GET", "/v1/models").json["object"] as? String == "list")
    }
}
