import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("Decoding the CLI's stream-json output")
struct CLIEventDecoderTests {
    static let recordings = [
        "bare_partial_stream.jsonl", "midstream_drop_retry_partial.jsonl", "midstream_sse_error_nonstreaming_fallback.jsonl",
        "err_401_default_retries.jsonl", "err_529_default_retries.jsonl", "thinking_partial_stream.jsonl", "sigint.jsonl",
        "control_interrupt.jsonl", "stdin_multi_user_lines.jsonl", "default_noflags_stream.jsonl",
    ]

    @Test("every line of every real recording decodes into the event its type names", arguments: recordings)
    func everyRecordedLineDecodes(_ name: String) throws {
        for line in Fixtures.lines(name) {
            let event = try CLIEventDecoder().decode(line: line)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let type = try #require(json["type"] as? String)
            switch (type, json["subtype"] as? String) {
            case ("result", _):
                guard case .result(let result) = event else { Issue.record("\(name): \(type) -> \(event)"); continue }
                #expect(result.isError == (json["is_error"] as? Bool ?? true))
            case ("assistant", _):
                guard case .assistant = event else { Issue.record("\(name): \(type) -> \(event)"); continue }
            case ("system", "init"):
                guard case .initialized = event else { Issue.record("\(name): init -> \(event)"); continue }
            case ("system", "api_retry"):
                guard case .apiRetry = event else { Issue.record("\(name): api_retry -> \(event)"); continue }
            case ("stream_event", _):
                let kind = (json["event"] as? [String: Any])?["type"] as? String
                switch (kind, event) {
                case ("message_start", .messageStart), ("message_delta", .messageDelta), ("message_stop", .messageStop),
                     ("content_block_delta", .textDelta), ("content_block_delta", .thinkingDelta),
                     ("content_block_delta", .other), ("content_block_start", .other), ("content_block_stop", .other):
                    break
                default: Issue.record("\(name): stream_event \(kind ?? "nil") -> \(event)")
                }
            case ("control_response", _):
                guard case .controlResponse(let response) = event else { Issue.record("\(name): \(type) -> \(event)"); continue }
                #expect(response.requestID == (json["response"] as? [String: Any])?["request_id"] as? String)
            default:
                guard case .other(let named) = event, named.hasPrefix(type) else { Issue.record("\(name): \(type) -> \(event)"); continue }
            }
        }
    }

    @Test("a successful turn decodes into init, deltas, stop and a successful result")
    func successfulTurn() throws {
        let events = try Fixtures.events("bare_partial_stream.jsonl")
        #expect(events.first == .other(type: "system/ui_invalidate"))
        #expect(events[1] == .initialized(model: "claude-sonnet-4-5", version: "2.1.332"))
        let deltas = events.compactMap { if case .textDelta(_, let t) = $0 { t } else { nil } }
        #expect(deltas.joined() == "Hello from the mock! You said: hello")
        #expect(events.contains(.messageDelta(stopReason: "end_turn", outputTokens: 9)))
        guard case .result(let result) = events.last else { Issue.record("no result"); return }
        #expect(!result.isError)
        #expect(result.text == "Hello from the mock! You said: hello")
        #expect(result.usage == CLIUsage(inputTokens: 25, outputTokens: 9))
    }

    @Test("an API failure says subtype success but is_error true, with the upstream status")
    func apiFailureIsAnError() throws {
        guard case .result(let result) = try Fixtures.events("err_401_default_retries.jsonl").last else {
            Issue.record("no result"); return
        }
        #expect(result.subtype == "success")
        #expect(result.isError)
        #expect(result.apiErrorStatus == 401)
        #expect(result.apiErrorType == "authentication_error")
    }

    @Test("an abandoned message and its retry are recognised")
    func abandonedMessage() throws {
        let events = try Fixtures.events("midstream_drop_retry_partial.jsonl")
        #expect(events.contains(.messageStop(abandoned: true)))
        #expect(events.contains(.messageStop(abandoned: false)))
        #expect(events.contains { if case .apiRetry(let r) = $0 { r.attempt == 1 && r.error == "unknown" } else { false } })
    }

    @Test("the synthetic error message is marked as such")
    func syntheticMessage() throws {
        let synthetic = try Fixtures.events("err_401_default_retries.jsonl").compactMap { event -> CLIAssistantMessage? in
            if case .assistant(let m) = event { m } else { nil }
        }
        #expect(synthetic.count == 1)
        #expect(synthetic[0].isSynthetic)
    }

    @Test("garbage is rejected, not crashed on", arguments: ["not json", "{\"type\":", "[1,2]", "{}", "\u{0}\u{1}", "{\"type\":5}"])
    func garbageIsRejected(_ line: String) {
        #expect(throws: (any Error).self) { try CLIEventDecoder().decode(line: Array(line.utf8)) }
    }

    @Test("unknown event types are tolerated")
    func unknownTypes() throws {
        #expect(try CLIEventDecoder().decode(line: Array(#"{"type":"rate_limit_event","x":1}"#.utf8)) == .other(type: "rate_limit_event"))
    }
}
