import Testing
@testable import ClaudeCodeAPI

@Suite("Validating chat completion requests")
struct RequestValidationTests {
    func validate(_ body: String, maxTokens: Int = 64_000) throws(APIError) -> ChatCompletionRequest {
        let json: JSONValue
        do { json = try JSONValue.parse(Array(body.utf8)) } catch { throw APIError.invalidJSON("test") }
        return try ChatCompletionRequest.validate(json, maximumOutputTokens: maxTokens)
    }

    func rejection(_ body: String) -> APIError? {
        do { _ = try validate(body); return nil } catch { return error }
    }

    @Test("a minimal request is accepted with OpenAI's defaults")
    func minimal() throws {
        let request = try validate(#"{"model":"sonnet","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(request.model == "sonnet")
        #expect(!request.stream)
        #expect(request.maxTokens == nil)
        #expect(request.messages == [ChatMessage(role: .user, content: [.text("hi")])])
    }

    @Test("bad requests name the offending parameter", arguments: [
        (#"[]"#, "body", "invalid_type"),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model", "missing_required_parameter"),
        (#"{"model":5,"messages":[{"role":"user","content":"x"}]}"#, "model", "invalid_type"),
        (#"{"model":"m"}"#, "messages", "missing_required_parameter"),
        (#"{"model":"m","messages":"hi"}"#, "messages", "invalid_type"),
        (#"{"model":"m","messages":[]}"#, "messages", "empty_array"),
        (#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#, "messages[0].role", "invalid_value"),
        (#"{"model":"m","messages":[{"content":"x"}]}"#, "messages[0].role", "missing_required_parameter"),
        (#"{"model":"m","messages":[{"role":"user"}]}"#, "messages[0].content", "missing_required_parameter"),
        (#"{"model":"m","messages":[{"role":"user","content":42}]}"#, "messages[0].content", "invalid_type"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"audio"}]}]}"#, "messages[0].content[0].type", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#, "messages[0].content[0].text", "missing_required_parameter"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]}"#, "messages[1].role", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"system","content":"x"}]}"#, "messages", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"tool","content":"x","tool_call_id":"a"}]}"#, "messages[0].tool_call_id", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#, "n", "unsupported_parameter"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, "stream", "invalid_type"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, "max_tokens", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#, "max_tokens", "invalid_type"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":99999999}"#, "max_tokens", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}"#, "temperature", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, "temperature", "invalid_type"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}"#, "stream_options", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}"#, "tools[0].function", "missing_required_parameter"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}"#, "stop[0]", "invalid_type"),
    ])
    func badRequest(_ body: String, _ param: String, _ code: String) throws {
        let error = try #require(rejection(body))
        #expect(error.status == 400)
        #expect(OpenAIErrorFormat.type(of: error.kind) == "invalid_request_error")
        #expect(error.param == param)
        #expect(error.code.rawValue == code)
        #expect(!error.message.isEmpty)
    }

    @Test("image URLs are refused: the service never fetches anything")
    func remoteImage() throws {
        let error = try #require(rejection(#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#))
        #expect(error.code == "unsupported_image_url")
        #expect(error.param == "messages[0].content[0].image_url.url")
    }

    @Test("inline base64 images are accepted")
    func inlineImage() throws {
        let request = try validate(#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}"#)
        #expect(request.messages[0].content == [.text("what?"), .image(mediaType: "image/png", base64Data: "iVBORw0KGgo=")])
    }

    @Test("max_completion_tokens wins over max_tokens; stream_options apply to streams")
    func tokensAndStreamOptions() throws {
        let request = try validate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":10,"max_completion_tokens":20,"stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(request.maxTokens == 20)
        #expect(request.stream && request.includeUsageInStream)
    }

    @Test("parameters the CLI cannot honour are accepted and listed as ignored")
    func ignoredParameters() throws {
        let request = try validate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0.2,"top_p":0.9,"seed":7,"user":"u","logprobs":false,"tools":[]}"#)
        #expect(Set(request.ignoredParameters) == ["temperature", "top_p", "seed", "user", "logprobs"])
    }

    @Test("reasoning_effort (or Anthropic's thinking) turns extended thinking on, within max_tokens")
    func reasoningEffort() throws {
        let base = #"{"model":"m","messages":[{"role":"user","content":"x"}]"#
        #expect(try validate(base + "}").thinkingBudget == nil)
        #expect(try validate(base + #","reasoning_effort":"medium"}"#).thinkingBudget == 8_192)
        #expect(try validate(base + #","reasoning_effort":"minimal"}"#).thinkingBudget == nil)
        #expect(try validate(base + #","reasoning_effort":"high","max_tokens":4000}"#).thinkingBudget == 3_999)
        #expect(try validate(base + #","reasoning_effort":"high","max_tokens":1000}"#).thinkingBudget == nil)
        #expect(try validate(base + #","thinking":{"type":"enabled","budget_tokens":5000}}"#).thinkingBudget == 5_000)
        #expect(rejection(base + #","reasoning_effort":"maximal"}"#)?.param == "reasoning_effort")
        #expect(rejection(base + #","thinking":{"type":"enabled","budget_tokens":10}}"#)?.param == "thinking.budget_tokens")
    }

    @Test("stop takes a string or up to four strings")
    func stopSequences() throws {
        #expect(try validate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END"}"#).stopSequences == ["END"])
        #expect(try validate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b"]}"#).stopSequences == ["a", "b"])
        #expect(rejection(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}"#)?.param == "stop")
    }

    @Test("nesting deeper than the limit is refused before decoding")
    func deepNesting() {
        let body = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONValue.ShapeError.self) { try JSONValue.parse(Array(body.utf8)) }
    }

    @Test("invalid UTF-8 is a parse error, not a crash")
    func invalidUTF8() {
        #expect(throws: (any Error).self) { try JSONValue.parse([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]) }
    }
}
