import Foundation
import Testing
import HTTPCore
@testable import ClaudeCodeAPI

@Suite("The OpenAI Responses API surface")
struct ResponsesAPITests {
    static func request(_ body: String) throws -> ResponsesRequest {
        try ResponsesRequest.validate(JSONValue.parse(Array(body.utf8)), maximumOutputTokens: 1000)
    }

    @Test("bad or unsupported Responses requests are 400s naming the field", arguments: [
        (#"{"input":"x"}"#, "model"),
        (#"{"model":"m"}"#, "input"),
        (#"{"model":"m","input":[]}"#, "input"),
        (#"{"model":"m","input":"x","background":true}"#, "background"),
        (#"{"model":"m","input":"x","conversation":"conv_1"}"#, "conversation"),
        (#"{"model":"m","input":"x","prompt":{"id":"p"}}"#, "prompt"),
        (#"{"model":"m","input":"x","truncation":"auto"}"#, "truncation"),
        (#"{"model":"m","input":"x","include":["reasoning.encrypted_content"]}"#, "include"),
        (#"{"model":"m","input":"x","tools":[{"type":"file_search"}]}"#, "tools[0].type"),
        (#"{"model":"m","input":"x","tools":[{"type":"function","name":"a b"}]}"#, "tools[0].name"),
        (#"{"model":"m","input":"x","tool_choice":"required"}"#, "tool_choice"),
        (#"{"model":"m","input":"x","max_output_tokens":5000}"#, "max_output_tokens"),
        (#"{"model":"m","input":"x","reasoning":{"effort":"huge"}}"#, "reasoning.effort"),
        (#"{"model":"m","input":"x","text":{"format":{"type":"xml"}}}"#, "text.format.type"),
        (#"{"model":"m","input":[{"type":"item_reference","id":"x"}]}"#, "input[0].type"),
        (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}"#, "input[0].content[0].type"),
        (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x/y.png"}]}]}"#, "input[0].content[0].url"),
        (#"{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"[1]"}]}"#, "input[0].arguments"),
        (#"{"model":"m","input":[{"role":"robot","content":"x"}]}"#, "input[0].role"),
    ])
    func badRequests(_ body: String, _ param: String) throws {
        let error = #expect(throws: APIError.self) { try Self.request(body) }
        #expect(error?.param == param && error?.status == 400, "\(String(describing: error))")
    }

    @Test("input items become the conversation: a function call and its output as tool_use and tool_result")
    func items() throws {
        let request = try Self.request(#"""
            {"model":"m","instructions":"Be brief.","input":[
              {"role":"user","content":"weather?"},
              {"type":"reasoning","summary":[]},
              {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me look."}]},
              {"type":"function_call","call_id":"toolu_1","name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},
              {"type":"function_call_output","call_id":"toolu_1","output":"sunny"}],
             "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}],"tool_choice":"auto"}
            """#)
        #expect(request.instructions == "Be brief." && request.store && !request.stream)
        #expect(request.tools.offered.map(\.name) == ["get_weather"] && request.tools.offered[0].strict, "the Responses API's default is strict")
        #expect(request.inputItems.allSatisfy { $0["id"]?.stringValue != nil }, "every item gets an id")
        let messages = ResponseItems.messages(request.inputItems)
        #expect(messages == [
            ChatMessage(role: .user, content: [.text("weather?")]),
            ChatMessage(role: .assistant, content: [.text("Let me look."), .toolUse(id: "toolu_1", name: "get_weather", input: .object(["city": .string("Oslo")]))]),
            ChatMessage(role: .tool, content: [.toolResult(toolUseID: "toolu_1", content: .string("sunny"), isError: false)]),
        ])
        try ResponseItems.check(messages, firstNew: 0)
    }

    @Test("an output without its call, or a conversation ending with the assistant, is refused")
    func linkage() throws {
        let orphan = ResponseItems.messages(try Self.request(#"{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":"x"}]}"#).inputItems)
        #expect(throws: APIError.self) { try ResponseItems.check(orphan, firstNew: 0) }
        let assistantLast = ResponseItems.messages(try Self.request(#"{"model":"m","input":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}"#).inputItems)
        let error = #expect(throws: APIError.self) { try ResponseItems.check(assistantLast, firstNew: 0) }
        #expect(error?.param == "input")
    }

    static func object(_ body: String = #"{"model":"m","input":"x"}"#) throws -> ResponseObject {
        ResponseObject(id: "resp_1", createdAt: 1, model: "m", request: try request(body))
    }

    /// The SSE events of a body, parsed, with their `event:` names checked against their `type`.
    static func events(_ writer: RecordingResponseWriter) throws -> [[String: Any]] {
        try writer.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: ") }.map { block in
            let lines = block.components(separatedBy: "\n")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].dropFirst(6).utf8)) as? [String: Any])
            #expect(lines[0] == "event: \(json["type"] as? String ?? "")")
            return json
        }
    }

    @Test("a streamed text answer: created, in_progress, the item and its part, deltas, the dones, completed; sequence numbers from 0 by 1")
    func streamedText() throws {
        let writer = RecordingResponseWriter()
        var stored: [JSONValue] = []
        var encoder = ResponsesStreamEncoder(writer: writer, object: try Self.object(), complete: { stored.append($0); return nil })
        for event: TurnEvent in [.started(TurnStart(messageID: "msg_up", usage: CLIUsage(inputTokens: 3))), .text("Hel"), .text("lo"),
                                 .finished(TurnCompletion(stopReason: .endTurn, usage: CLIUsage(inputTokens: 3, outputTokens: 2)))] {
            try encoder.send(event)
        }
        let events = try Self.events(writer)
        #expect(events.map { $0["type"] as? String ?? "" } == [
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
            "response.output_item.done", "response.completed",
        ])
        #expect(events.map { $0["sequence_number"] as? Int ?? -1 } == Array(0..<events.count))
        #expect(writer.status == 200 && encoder.isComplete)
        let final = try #require(events.last?["response"] as? [String: Any])
        #expect(final["status"] as? String == "completed" && final["id"] as? String == "resp_1")
        #expect((final["usage"] as? [String: Any])?["total_tokens"] as? Int == 5)
        #expect(stored.count == 1 && stored.first?["id"] == .string("resp_1"))
        #expect(stored[0]["status"] == .string("completed"), "what is stored is what the client got")
    }

    @Test("streamed calls: the item, argument deltas, the arguments done with the final arguments, then completed")
    func streamedCall() throws {
        let writer = RecordingResponseWriter()
        var encoder = ResponsesStreamEncoder(writer: writer, object: try Self.object(), complete: { _ in nil })
        let call = TurnToolCall(id: "toolu_a", name: "get_weather", arguments: #"{"city":"Oslo"}"#)
        for event: TurnEvent in [.text("Looking."), .toolCallStarted(index: 0, id: "toolu_a", name: "get_weather"),
                                 .toolCallArguments(index: 0, fragment: #"{"ci"#), .toolCallArguments(index: 0, fragment: #"ty":"Oslo"}"#),
                                 .finished(TurnCompletion(stopReason: .toolUse, usage: CLIUsage(), toolCalls: [call]))] {
            try encoder.send(event)
        }
        let events = try Self.events(writer)
        let types = events.map { $0["type"] as? String ?? "" }
        #expect(Array(types.suffix(6)) == ["response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                                           "response.function_call_arguments.done", "response.output_item.done", "response.completed"])
        #expect(events.map { $0["sequence_number"] as? Int ?? -1 } == Array(0..<events.count))
        let done = try #require(events.first { $0["type"] as? String == "response.function_call_arguments.done" })
        #expect(done["arguments"] as? String == #"{"city":"Oslo"}"# && done["output_index"] as? Int == 1)
        let output = try #require((events.last?["response"] as? [String: Any])?["output"] as? [[String: Any]])
        #expect(output.map { $0["type"] as? String ?? "" } == ["message", "function_call"])
        #expect(output[1]["call_id"] as? String == "toolu_a")
    }

    @Test("a failure before any content is a real HTTP error; after content it is response.failed")
    func failures() throws {
        let early = RecordingResponseWriter()
        var first = ResponsesStreamEncoder(writer: early, object: try Self.object(), complete: { _ in nil })
        try first.send(.failed(.overCapacity(retryAfterSeconds: 1)))
        #expect(early.status == 429 && first.status == 429)
        #expect((early.json["error"] as? [String: Any])?["code"] as? String == "server_busy")

        let late = RecordingResponseWriter()
        var second = ResponsesStreamEncoder(writer: late, object: try Self.object(), complete: { _ in nil })
        try second.send(.text("partial"))
        try second.send(.failed(.cliFailed(requestID: "r")))
        let events = try Self.events(late)
        #expect(events.last?["type"] as? String == "response.failed")
        #expect(events.map { $0["sequence_number"] as? Int ?? -1 } == Array(0..<events.count))
        let response = try #require(events.last?["response"] as? [String: Any])
        #expect(response["status"] as? String == "failed" && (response["error"] as? [String: Any])?["code"] as? String == "cli_failed")
    }

    @Test("a store that fails turns the completion into an error: a completed response is a stored one")
    func storeFailure() throws {
        let writer = RecordingResponseWriter()
        var encoder = ResponsesEncoder(writer: writer, object: try Self.object(), complete: { _ in .stateUnavailable(requestID: "r") })
        try encoder.send(.text("hi"))
        try encoder.send(.finished(TurnCompletion(stopReason: .endTurn, usage: CLIUsage())))
        #expect(writer.status == 503 && (writer.json["error"] as? [String: Any])?["code"] as? String == "state_unavailable")
    }

    @Test("a non-streaming answer: the response object, incomplete at max_output_tokens, reasoning as a reasoning item")
    func object() throws {
        let writer = RecordingResponseWriter()
        var encoder = ResponsesEncoder(writer: writer, object: try Self.object(), complete: { _ in nil })
        for event: TurnEvent in [.reasoning("hmm"), .text("Hi"), .finished(TurnCompletion(stopReason: .maxTokens, usage: CLIUsage(outputTokens: 9)))] {
            try encoder.send(event)
        }
        let json = writer.json
        #expect(json["object"] as? String == "response" && json["status"] as? String == "incomplete")
        #expect((json["incomplete_details"] as? [String: Any])?["reason"] as? String == "max_output_tokens")
        let output = try #require(json["output"] as? [[String: Any]])
        #expect(output.map { $0["type"] as? String ?? "" } == ["reasoning", "message"])
        #expect(((json["usage"] as? [String: Any])?["output_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int == 1)
    }

    @Test("in-process: a stored response is served by GET and input_items, continued by previous_response_id, and gone after DELETE")
    func storedLifecycle() throws {
        let folder = NSTemporaryDirectory() + "cca-responses-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"), environment: ["CCA_STATE_DIR": folder])
        let created = app.send("POST", "/v1/responses", body: #"{"model":"claude-sonnet-4-5","input":"hello"}"#)
        #expect(created.status == 200, "\(created.text)")
        let id = try #require(created.json["id"] as? String)
        let got = app.send("GET", "/v1/responses/\(id)")
        #expect(got.status == 200 && got.json["id"] as? String == id && got.json["output"] != nil)
        let items = app.send("GET", "/v1/responses/\(id)/input_items")
        #expect(items.json["object"] as? String == "list" && (items.json["data"] as? [[String: Any]])?.count == 1)
        let next = app.send("POST", "/v1/responses", body: #"{"model":"claude-sonnet-4-5","input":"again","previous_response_id":"\#(id)"}"#)
        #expect(next.status == 200 && next.json["previous_response_id"] as? String == id)
        #expect(app.send("DELETE", "/v1/responses/\(id)").json["deleted"] as? Bool == true)
        #expect(app.send("GET", "/v1/responses/\(id)").status == 404)
        let broken = app.send("POST", "/v1/responses", body: #"{"model":"claude-sonnet-4-5","input":"x","previous_response_id":"\#(id)"}"#)
        #expect(broken.status == 400 && (broken.json["error"] as? [String: Any])?["code"] as? String == "previous_response_not_found")
    }

    @Test("without a state folder nothing is stored: store is false, previous_response_id is a clear 400")
    func stateless() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        let created = app.send("POST", "/v1/responses", body: #"{"model":"claude-sonnet-4-5","input":"hello"}"#)
        #expect(created.status == 200 && created.json["store"] as? Bool == false)
        let chained = app.send("POST", "/v1/responses", body: #"{"model":"claude-sonnet-4-5","input":"x","previous_response_id":"resp_1"}"#)
        #expect(chained.status == 400 && (chained.json["error"] as? [String: Any])?["param"] as? String == "previous_response_id")
    }
}
