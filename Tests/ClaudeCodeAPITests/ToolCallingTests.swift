import Foundation
import Testing
import HTTPCore
@testable import ClaudeCodeAPI

@Suite("Function calling and structured output")
struct ToolCallingTests {
    static let weather = #"{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}"#

    func validate(_ json: String) throws(APIError) -> ChatCompletionRequest {
        do {
            return try ChatCompletionRequest.validate(try JSONValue.parse(Array(json.utf8)), maximumOutputTokens: 64_000)
        } catch let error as APIError {
            throw error
        } catch {
            throw .invalidJSON("test body")
        }
    }

    func rejection(_ json: String) -> APIError? {
        do { _ = try validate(json); return nil } catch { return error }
    }

    // MARK: Request validation

    @Test("tools that the CLI would change, or the API refuse, are a 400 naming the field", arguments: [
        (#"[{"type":"function","function":{"name":"get weather"}}]"#, "tools[0].function.name"),
        (#"[{"type":"function","function":{"name":"\#(String(repeating: "x", count: 65))"}}]"#, "tools[0].function.name"),
        (#"[{"type":"function","function":{"name":"a","description":"\#(String(repeating: "d", count: 4097))"}}]"#, "tools[0].function.description"),
        (#"[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}]"#, "tools[1].function.name"),
        (#"[{"type":"web_search"}]"#, "tools[0].type"),
        (#"[{"type":"function","function":{"name":"a","parameters":"x"}}]"#, "tools[0].function.parameters"),
    ])
    func badTools(_ tools: String, _ param: String) {
        let error = rejection(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":\#(tools)}"#)
        #expect(error?.status == 400 && error?.param == param, "\(String(describing: error))")
    }

    @Test("tool history must hang together: results answer calls, arguments are JSON objects", arguments: [
        (#"[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"c1","content":"r"}]"#, "messages[1].tool_call_id"),
        (#"[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c2","content":"r"}]"#,
         "messages[2].tool_call_id"),
        (#"[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{nope"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}]"#,
         "messages[1].tool_calls[0].function.arguments"),
        (#"[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"},{"role":"tool","tool_call_id":"c1","content":"again"}]"#,
         "messages[3].tool_call_id"),
        (#"[{"role":"user","content":"x"},{"role":"function","name":"f","content":"r"}]"#, "messages[1]"),
    ])
    func badHistory(_ messages: String, _ param: String) {
        let error = rejection(#"{"model":"m","messages":\#(messages)}"#)
        #expect(error?.status == 400 && error?.param == param, "\(String(describing: error))")
    }

    @Test("tool_choice names an offered tool; required needs tools")
    func badChoice() {
        let named = rejection(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[\#(Self.weather)],"tool_choice":{"type":"function","function":{"name":"other"}}}"#)
        #expect(named?.param == "tool_choice")
        let required = rejection(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}"#)
        #expect(required?.param == "tool_choice")
    }

    @Test("a follow-up that carries no tools declares the tools its history calls, and its calls get ids linked to results")
    func historyTools() throws {
        let request = try validate(#"""
            {"model":"m","messages":[{"role":"user","content":"x"},
             {"role":"assistant","content":null,"function_call":{"name":"lookup","arguments":"{\"q\":1}"}},
             {"role":"function","name":"lookup","content":"42"}]}
            """#)
        #expect(request.tools.declared.map(\.name) == ["lookup"])
        #expect(request.tools.offered.isEmpty)
        let conversation = CLIConversation(messages: request.messages)
        #expect(conversation.hasToolBlocks)
        guard case .toolUse(let id, "lookup", .object(let input))? = conversation.history.last?.content.first,
              case .toolResult(let resultID, .string("42"), false)? = conversation.prompt.first else {
            Issue.record("unexpected conversation \(conversation)"); return
        }
        #expect(id == resultID && !id.isEmpty && input == ["q": .number(1)])
    }

    // MARK: The CLI's side

    @Test("tool conversations go to the CLI turn by turn, user lines without a query first, nothing added")
    func handshake() throws {
        let request = try validate(#"""
            {"model":"m","messages":[{"role":"user","content":"/weather?"},
             {"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
             {"role":"tool","tool_call_id":"toolu_1","content":"snow"}],"tools":[\#(Self.weather)]}
            """#)
        let conversation = CLIConversation(messages: request.messages)
        let lines = conversation.handshakeLines()
        guard lines.count == 3, case .priorUser(let user) = lines[0], case .priorAssistant(let assistant) = lines[1], case .prompt(let prompt) = lines[2] else {
            Issue.record("unexpected lines \(lines)"); return
        }
        let first = try JSONSerialization.jsonObject(with: Data(user)) as? [String: Any]
        #expect(first?["shouldQuery"] as? Bool == false)
        let texts = ((first?["message"] as? [String: Any])?["content"] as? [[String: Any]])?.compactMap { $0["text"] as? String }
        #expect(texts?.joined() == "/weather?" && texts?.count == 2)  // literal on every user line
        let blocks = ((try JSONSerialization.jsonObject(with: Data(assistant)) as? [String: Any])?["message"] as? [String: Any])?["content"] as? [[String: Any]]
        #expect(blocks?.map { $0["type"] as? String } == ["text", "tool_use"])
        #expect((blocks?.last?["input"] as? [String: Any])?["city"] as? String == "Oslo")
        let last = ((try JSONSerialization.jsonObject(with: Data(prompt)) as? [String: Any])?["message"] as? [String: Any])?["content"] as? [[String: Any]]
        #expect(last?.count == 1 && last?.first?["type"] as? String == "tool_result" && last?.first?["content"] as? String == "snow")

        let configuration = try Configuration.fromEnvironment(["CCA_CLAUDE_PATH": "/bin/true"])
        let invocation = CLIInvocation(request: .init(conversation: conversation, cliModel: "claude-sonnet-4-5", maxTokens: nil, tools: request.tools),
                                       configuration: configuration, executable: "/bin/true", scratchDirectory: "/tmp/cca-x")
        #expect(invocation.transcript == nil && !invocation.process.arguments.contains("--resume"))
        let arguments = invocation.process.arguments
        #expect(arguments[arguments.firstIndex(of: "--mcp-config")! + 1] == ToolBridge.mcpConfiguration)
        #expect(arguments[arguments.firstIndex(of: "--permission-prompt-tool")! + 1] == "stdio")
        #expect(invocation.process.environment["CLAUDE_AGENT_SDK_MCP_NO_PREFIX"] == "1")
        #expect(!arguments.contains { $0.contains("get_weather") || $0.contains("Oslo") })  // tools travel over the control channel
    }

    @Test("the MCP bridge lists the tools under their own names, answers the handshake, and never grants a call")
    func bridge() {
        let bridge = ToolBridge(tools: [ClientTool(name: "get_weather", description: "W", inputSchema: .object(["type": .string("object")]))])
        func ask(_ message: JSONValue) -> ToolBridge.Answer {
            bridge.answer(CLIControlRequest(requestID: "r", subtype: "mcp_message",
                                            request: .object(["subtype": .string("mcp_message"), "server_name": .string("client"), "message": message])))
        }
        let list = ask(.object(["jsonrpc": .string("2.0"), "id": .number(1), "method": .string("tools/list")]))
        guard case .respond(let response) = list else { Issue.record("\(list)"); return }
        #expect(response["mcp_response"]?["result"]?["tools"] == .array([.object([
            "name": .string("get_weather"), "description": .string("W"), "inputSchema": .object(["type": .string("object")])])]))
        let initialize = ask(.object(["id": .number(0), "method": .string("initialize"), "params": .object(["protocolVersion": .string("2025-11-25")])]))
        if case .respond(let answer) = initialize {
            #expect(answer["mcp_response"]?["result"]?["protocolVersion"] == .string("2025-11-25"))
        } else { Issue.record("\(initialize)") }
        #expect(bridge.answer(CLIControlRequest(requestID: "p", subtype: "can_use_tool", request: .object([:]))) == .hold)
        #expect(bridge.answer(CLIControlRequest(requestID: "x", subtype: "hook_callback", request: .object([:]))) == .refuse("unsupported control request"))
    }

    // MARK: The turn

    static let callEvents: [CLIEvent] = [
        .messageStart(id: "m1", usage: CLIUsage(inputTokens: 30)),
        .textDelta(index: 0, text: "Checking."),
        .toolUseStart(index: 1, id: "toolu_a", name: "get_weather"),
        .inputJSONDelta(index: 1, partialJSON: #"{"ci"#), .inputJSONDelta(index: 1, partialJSON: #"ty":"Oslo"}"#),
        .toolUseStart(index: 2, id: "toolu_b", name: "lookup"),
        .inputJSONDelta(index: 2, partialJSON: #"{"q":1}"#),
        .messageDelta(stopReason: "tool_use", outputTokens: 12),
        .messageStop(abandoned: false),
    ]

    func run(_ events: [CLIEvent], tools: TurnTools) -> [TurnEvent] {
        var translator = TurnTranslator()
        var policy = ToolOutputPolicy(tools)
        return events.flatMap { translator.consume($0) }.flatMap { policy.filter($0) }
    }

    static let offered = [ClientTool(name: "get_weather", inputSchema: try! JSONValue.parse(Array(#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.utf8))),
                          ClientTool(name: "lookup")]

    @Test("a turn that calls tools ends at the call, with every call complete and the text before it")
    func callsEndTheTurn() throws {
        var translator = TurnTranslator()
        var out: [TurnEvent] = []
        for event in Self.callEvents { out += translator.consume(event) }
        #expect(translator.isFinished && translator.finishedBeforeResult)
        #expect(out.prefix(3) == [.started(TurnStart(messageID: "m1", usage: CLIUsage(inputTokens: 30))), .text("Checking."),
                                  .toolCallStarted(index: 0, id: "toolu_a", name: "get_weather")])
        #expect(out.finish?.messageID == "m1")
        let finish = try #require(out.finish)
        #expect(finish.stopReason == .toolUse && finish.usage.outputTokens == 12)
        #expect(finish.toolCalls == [TurnToolCall(id: "toolu_a", name: "get_weather", arguments: #"{"city":"Oslo"}"#),
                                     TurnToolCall(id: "toolu_b", name: "lookup", arguments: #"{"q":1}"#)])
    }

    @Test("parallel_tool_calls false returns the first call only")
    func firstCallOnly() throws {
        let out = run(Self.callEvents, tools: TurnTools(offered: Self.offered, parallelCalls: false))
        #expect(try #require(out.finish).toolCalls.map(\.name) == ["get_weather"])
        #expect(!out.contains { if case .toolCallStarted(1, _, _) = $0 { true } else { false } })
    }

    @Test("tool_choice none drops calls; the turn ends with its text and finish reason stop")
    func choiceNone() throws {
        let out = run(Self.callEvents, tools: TurnTools(offered: Self.offered, choice: .none))
        let finish = try #require(out.finish)
        #expect(finish.toolCalls.isEmpty && finish.stopReason == .endTurn && out.content == "Checking.")
    }

    @Test("a named choice keeps that tool's call; a turn without a required call fails")
    func choiceRequired() throws {
        let named = run(Self.callEvents, tools: TurnTools(offered: Self.offered, choice: .function("lookup")))
        #expect(try #require(named.finish).toolCalls.map(\.name) == ["lookup"])
        let textOnly: [CLIEvent] = [.messageStart(id: "m", usage: CLIUsage()), .textDelta(index: 0, text: "No."), .messageDelta(stopReason: "end_turn", outputTokens: 1),
                                    .messageStop(abandoned: false), .result(CLIResult(isError: false, text: "No.", stopReason: "end_turn"))]
        let required = run(textOnly, tools: TurnTools(offered: Self.offered, choice: .required))
        #expect(required.content.isEmpty, "text is held back until a call, and never passed off as the answer")
        #expect(required.failure?.code == .invalidModelOutput)
    }

    @Test("strict calls are validated before any of their events go out")
    func strict() throws {
        var tools = Self.offered
        tools[0].strict = true
        let good = run(Self.callEvents, tools: TurnTools(offered: tools))
        #expect(try #require(good.finish).toolCalls.count == 2)
        var bad = Self.callEvents
        bad[4] = .inputJSONDelta(index: 1, partialJSON: #"ty":5}"#)
        let out = run(bad, tools: TurnTools(offered: tools))
        #expect(out.failure?.code == .invalidModelOutput && out.failure?.message.contains("/city") == true)
        #expect(!out.contains { if case .toolCallStarted(_, _, "get_weather") = $0 { true } else { false } })
    }

    @Test("json_schema: the structured tool's arguments are the answer's text, checked against the schema")
    func jsonSchema() throws {
        let schema = try JSONValue.parse(Array(#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}"#.utf8))
        let tools = TurnTools(outputFormat: .jsonSchema(name: "Answer", schema: schema, strict: true))
        #expect(tools.declared.map(\.name) == [TurnTools.structuredOutputToolName])
        func events(_ arguments: String) -> [CLIEvent] {
            [.messageStart(id: "m", usage: CLIUsage()), .textDelta(index: 0, text: "Sure."),
             .toolUseStart(index: 1, id: "toolu_s", name: TurnTools.structuredOutputToolName), .inputJSONDelta(index: 1, partialJSON: arguments),
             .messageDelta(stopReason: "tool_use", outputTokens: 3)]
        }
        let good = run(events(#"{"n":7}"#), tools: tools)
        #expect(good.content == #"{"n":7}"# && good.finish?.stopReason == .endTurn && good.finish?.toolCalls.isEmpty == true)
        let extra = run(events(#"{"n":7,"x":1}"#), tools: tools)
        #expect(extra.failure?.code == .invalidModelOutput)
    }

    @Test("json_object: an answer that is not one JSON object fails after its text")
    func jsonObject() {
        func answer(_ text: String) -> [TurnEvent] {
            run([.messageStart(id: "m", usage: CLIUsage()), .textDelta(index: 0, text: text), .messageDelta(stopReason: "end_turn", outputTokens: 1),
                 .messageStop(abandoned: false), .result(CLIResult(isError: false, text: text, stopReason: "end_turn"))],
                tools: TurnTools(outputFormat: .jsonObject))
        }
        #expect(answer(#" {"a": [1, 2]} "#).finish != nil)
        #expect(answer("[1, 2]").failure?.code == .invalidModelOutput)
        #expect(answer("sure!").failure?.code == .invalidModelOutput)
    }

    @Test("the JSON Schema subset: types, required, enums, nesting, additionalProperties, refs, anyOf", arguments: [
        (#"{"a":1}"#, true), (#"{"a":"1"}"#, false), (#"{}"#, false), (#"{"a":1,"b":"x"}"#, true), (#"{"a":1,"b":"y"}"#, false),
        (#"{"a":1,"c":[{"d":true}]}"#, true), (#"{"a":1,"c":[{"d":1}]}"#, false), (#"{"a":1,"z":0}"#, false), (#"{"a":1,"e":null}"#, true),
        (#"{"a":1.5}"#, false),
    ])
    func validator(_ value: String, _ valid: Bool) throws {
        let schema = try JSONValue.parse(Array(#"""
            {"type":"object","required":["a"],"additionalProperties":false,
             "properties":{"a":{"type":"integer"},"b":{"enum":["x"]},"c":{"type":"array","items":{"$ref":"#/$defs/D"}},
                           "e":{"anyOf":[{"type":"string"},{"type":"null"}]}},
             "$defs":{"D":{"type":"object","properties":{"d":{"type":"boolean"}},"required":["d"]}}}
            """#.utf8))
        let parsed = try JSONValue.parse(Array(value.utf8))
        #expect(((try? JSONSchemaValidator(schema: schema).validate(parsed)) != nil) == valid)
    }

    // MARK: OpenAI's answer

    @Test("streamed calls go out as delta.tool_calls: a first piece with id, type and name, then argument fragments")
    func streamedDeltas() throws {
        let writer = RecordingResponseWriter()
        var encoder = ChatCompletionStreamEncoder(writer: writer, identity: CompletionIdentity(id: "c", created: 1, model: "m"), includeUsage: false)
        for event in run(Self.callEvents, tools: TurnTools(offered: Self.offered)) { try encoder.send(event) }
        let deltas = writer.chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
        let calls = deltas.compactMap { ($0["tool_calls"] as? [[String: Any]])?.first }
        let first = try #require(calls.first)
        #expect(first["index"] as? Int == 0 && first["id"] as? String == "toolu_a" && first["type"] as? String == "function")
        #expect((first["function"] as? [String: Any])?["name"] as? String == "get_weather")
        #expect((first["function"] as? [String: Any])?["arguments"] as? String == "")
        let fragments = calls.filter { $0["index"] as? Int == 0 && $0["id"] == nil }.compactMap { ($0["function"] as? [String: Any])?["arguments"] as? String }
        #expect(fragments == [#"{"ci"#, #"ty":"Oslo"}"#])
        #expect((writer.chunks.last?["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "tool_calls")
        #expect(writer.events.last == "[DONE]")
    }

    @Test("a non-streaming answer has message.tool_calls (content null without text), or the legacy function_call")
    func message() throws {
        let completion = TurnCompletion(stopReason: .toolUse, usage: CLIUsage(), toolCalls: [TurnToolCall(id: "toolu_a", name: "f", arguments: "{}")])
        let writer = RecordingResponseWriter()
        var encoder = ChatCompletionEncoder(writer: writer, identity: CompletionIdentity(id: "c", created: 1, model: "m"))
        try encoder.send(.finished(completion))
        let choice = try #require((writer.json["choices"] as? [[String: Any]])?.first)
        let message = try #require(choice["message"] as? [String: Any])
        #expect(message["content"] is NSNull && choice["finish_reason"] as? String == "tool_calls")
        #expect(((message["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["name"] as? String == "f")
        let legacy = RecordingResponseWriter()
        var legacyEncoder = ChatCompletionEncoder(writer: legacy, identity: CompletionIdentity(id: "c", created: 1, model: "m"), legacyFunctions: true)
        try legacyEncoder.send(.finished(completion))
        let legacyChoice = try #require((legacy.json["choices"] as? [[String: Any]])?.first)
        #expect(legacyChoice["finish_reason"] as? String == "function_call")
        #expect(((legacyChoice["message"] as? [String: Any])?["function_call"] as? [String: Any])?["name"] as? String == "f")
        #expect((legacyChoice["message"] as? [String: Any])?["tool_calls"] == nil)
    }
}
