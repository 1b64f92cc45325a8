import Testing
@testable import ClaudeCodeAPI

@Suite("OpenAI stop sequences, applied by the service")
struct StopSequenceTests {
    func run(_ deltas: [String], stops: [String]) -> (shown: String, stopped: Bool) {
        var matcher = StopSequenceMatcher(stops)
        var shown = ""
        for delta in deltas { shown += matcher.feed(delta) }
        shown += matcher.finish()
        return (shown, matcher.isStopped)
    }

    @Test("the output ends before the first stop sequence, which is not shown")
    func cutsBeforeTheSequence() {
        #expect(run(["Thought: look it up\nObserv", "ation: 42"], stops: ["Observation:"]) == ("Thought: look it up\n", true))
    }

    @Test("a sequence split across deltas is still found; text that only looked like one is released")
    func heldBackThenReleased() {
        #expect(run(["ab", "c", "d"], stops: ["cx"]) == ("abcd", false))
        #expect(run(["ab", "c", "x", "tail"], stops: ["cx"]) == ("ab", true))
    }

    @Test("the earliest of several sequences wins")
    func earliestWins() {
        #expect(run(["one END two STOP"], stops: ["STOP", "END"]) == ("one ", true))
    }

    @Test("multi-byte text around a sequence stays whole")
    func multibyte() {
        #expect(run(["héllo wö", "rld 🌍", " ★ more"], stops: ["★"]) == ("héllo wörld 🌍 ", true))
    }

    @Test("empty sequences are ignored")
    func emptyIgnored() {
        #expect(run(["abc"], stops: [""]) == ("abc", false))
    }

    @Test("in a turn: content stops, finish_reason is stop, and the turn ends before the CLI's result")
    func inTranslator() throws {
        var translator = TurnTranslator(stopSequences: ["mock!"])
        var out: [TurnEvent] = []
        for event in try Fixtures.events("bare_partial_stream.jsonl") { out += translator.consume(event) }
        #expect(out.content == "Hello from the ")
        #expect(translator.finishedBeforeResult)
        let finish = try #require(out.finish)
        #expect(finish.stopReason == .stopSequence("mock!"))
        #expect(FinishReason(finish.stopReason) == .stop)
        #expect(finish.usage.promptTokens == 25 && finish.usage.outputTokens >= 1)
    }

    @Test("a stop sequence inside text that only arrives with the result (fallback) is applied too")
    func inFallbackText() throws {
        var translator = TurnTranslator(stopSequences: ["You said"])
        var out: [TurnEvent] = []
        for event in try Fixtures.events("midstream_sse_error_nonstreaming_fallback.jsonl") { out += translator.consume(event) }
        #expect(out.content == "Hello from the mock! ")
        #expect(out.finish?.stopReason == .stopSequence("You said"))
        #expect(out.finish?.usage.outputTokens == 10)  // the result's real usage
    }

    @Test("without stop sequences nothing is held back")
    func passThrough() throws {
        #expect(try Fixtures.translate("bare_partial_stream.jsonl").content == "Hello from the mock! You said: hello")
    }
}
