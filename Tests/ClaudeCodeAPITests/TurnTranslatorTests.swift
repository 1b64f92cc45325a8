import Testing
@testable import ClaudeCodeAPI

@Suite("Translating CLI turns into neutral turn events")
struct TurnTranslatorTests {
    let answer = "Hello from the mock! You said: hello"

    @Test("streamed deltas become content, ending with stop and usage")
    func plainTurn() throws {
        let events = try Fixtures.translate("bare_partial_stream.jsonl")
        #expect(events.content == answer)
        #expect(events.filter { if case .text = $0 { true } else { false } }.count == 8)
        let finish = try #require(events.finish)
        #expect(finish.stopReason == .endTurn)
        #expect(finish.usage == CLIUsage(inputTokens: 25, outputTokens: 9))
        #expect(events.failure == nil)
    }

    @Test("text re-streamed after a mid-stream retry reaches the client once")
    func retryIsNotDuplicated() throws {
        let events = try Fixtures.translate("midstream_drop_retry_partial.jsonl")
        #expect(events.content == answer)
        #expect(events.finish?.stopReason == .endTurn)
    }

    @Test("text that only arrives in the non-streaming fallback still reaches the client")
    func fallbackTextIsDelivered() throws {
        let events = try Fixtures.translate("midstream_sse_error_nonstreaming_fallback.jsonl")
        #expect(events.content == answer)
        #expect(events.finish != nil)
    }

    @Test("an upstream 401 is a gateway error, and the CLI's 'Invalid API key' text is never content")
    func authenticationFailure() throws {
        let events = try Fixtures.translate("err_401_default_retries.jsonl")
        #expect(events.content.isEmpty)
        let error = try #require(events.failure)
        #expect(error.status == 502)
        #expect(error.code == "upstream_authentication_failed")
        #expect(error.message.contains("Invalid API key"))
    }

    @Test("an upstream 529 is 503 with Retry-After from the last retry delay")
    func overloaded() throws {
        let error = try #require(try Fixtures.translate("err_529_default_retries.jsonl").failure)
        #expect(error.status == 503)
        #expect(error.code == "upstream_overloaded")
        #expect((error.retryAfterSeconds ?? 0) >= 1)
    }

    @Test("thinking is not content; it is reasoning only when asked for")
    func thinking() throws {
        let plain = try Fixtures.translate("thinking_partial_stream.jsonl")
        #expect(plain.content == answer)
        #expect(plain.reasoning.isEmpty)
        let withReasoning = try Fixtures.translate("thinking_partial_stream.jsonl", includeReasoning: true)
        #expect(withReasoning.reasoning == "Let me think about this.")
        #expect(withReasoning.content == answer)
    }

    @Test("a CLI that stops without a result line is a failure, after the partial text")
    func noResultLine() throws {
        let events = try Fixtures.translate("sigint.jsonl")
        let error = try #require(events.failure)
        #expect(error.status == 502)
        #expect(error.code == "cli_failed")
    }

    @Test("an interrupted turn is an error, whatever its subtype says")
    func interruptedTurn() throws {
        let events = try Fixtures.translate("control_interrupt.jsonl")
        #expect(events.failure != nil)
        #expect(events.finish == nil)
    }

    @Test("the CLI's stop reasons map to OpenAI finish reasons",
          arguments: [("end_turn", FinishReason.stop), ("stop_sequence", .stop), ("max_tokens", .length),
                      ("model_context_window_exceeded", .length), ("refusal", .contentFilter), ("tool_use", .toolCalls),
                      ("pause_turn", .stop), (nil, .stop)] as [(String?, FinishReason)])
    func finishReasons(_ stopReason: String?, _ expected: FinishReason) {
        #expect(FinishReason(TurnStopReason(cliStopReason: stopReason)) == expected)
    }

    @Test("a message cut at max_tokens ends the turn at once with length, before the CLI asks to continue")
    func maxTokensEndsTheTurn() {
        var translator = TurnTranslator()
        var out: [TurnEvent] = []
        out += translator.consume(.messageStart(id: "m1", usage: CLIUsage(inputTokens: 20, cacheReadInputTokens: 5)))
        out += translator.consume(.textDelta(index: 0, text: "Hello from the"))
        out += translator.consume(.messageDelta(stopReason: "max_tokens", outputTokens: 3))
        #expect(translator.isFinished && translator.finishedBeforeResult)
        // What the CLI would do next (a continuation request) is ignored.
        out += translator.consume(.messageStart(id: "m2", usage: CLIUsage(inputTokens: 40)))
        out += translator.consume(.textDelta(index: 0, text: "Hello from the"))
        #expect(out.content == "Hello from the")
        let finish = try! #require(out.finish)
        #expect(finish.stopReason == .maxTokens)
        #expect(finish.usage.promptTokens == 25 && finish.usage.outputTokens == 3)
    }

    @Test("prompt tokens include cache reads and cache writes")
    func usageCountsCache() {
        let usage = Usage(CLIUsage(inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 100, cacheCreationInputTokens: 20))
        #expect(usage.promptTokens == 130)
        #expect(usage.promptTokensDetails.cachedTokens == 100)
        #expect(usage.totalTokens == 135)
    }

    @Test("a delta that splits a multi-byte character is still delivered whole")
    func multibyte() {
        var translator = TurnTranslator()
        var out: [TurnEvent] = []
        out += translator.consume(.messageStart(id: "m1", usage: CLIUsage(inputTokens: 1)))
        out += translator.consume(.textDelta(index: 0, text: "héllo "))
        out += translator.consume(.textDelta(index: 0, text: "wörld 🌍"))
        out += translator.consume(.messageStop(abandoned: true))
        out += translator.consume(.apiRetry(CLIRetry(attempt: 1)))
        out += translator.consume(.messageStart(id: "m2", usage: CLIUsage(inputTokens: 1)))
        out += translator.consume(.textDelta(index: 0, text: "héllo wörld 🌍 again"))
        out += translator.consume(.result(CLIResult(isError: false, text: "héllo wörld 🌍 again", stopReason: "end_turn")))
        #expect(out.content == "héllo wörld 🌍 again")
    }
}
