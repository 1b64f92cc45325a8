import Foundation
import Testing
@testable import ClaudeCodeAPI

/// The warm pool in-process: a scripted CLI that answers the pool's control requests (the session numbers them
/// `cca-1`, `cca-2`, ... in the order they are sent), the request path from the HTTP handler down.
@Suite("Warm CLI pool")
struct CLIPoolTests {
    static let idleLine = Fixtures.lines("bare_partial_stream.jsonl")[0]
    static var turnLines: [[UInt8]] { Array(Fixtures.lines("bare_partial_stream.jsonl").dropFirst()) }

    static func controlResponse(_ id: String, success: Bool = true, response: String = "{}") -> ScriptedProcessLauncher.Step {
        let line = success
            ? #"{"type":"control_response","response":{"subtype":"success","request_id":"\#(id)","response":\#(response)}}"#
            : #"{"type":"control_response","response":{"subtype":"error","request_id":"\#(id)","error":"no such setting"}}"#
        return .line(Array(line.utf8))
    }

    /// A pre-started CLI: its ready line, the warm-up line's result and rewind (`cca-1`), the turn's setting
    /// (`cca-2`: the turn's model, gpt-4o = claude-sonnet-4-5, is not the launch model, the catalogue's first,
    /// claude-opus-4-5), one turn, its rewind (`cca-3`), then idle.
    static func pooledScript(settingAccepted: Bool = true, rewound: Bool = true) -> [ScriptedProcessLauncher.Step] {
        var steps: [ScriptedProcessLauncher.Step] = [.line(idleLine), .line(turnLines.last!), controlResponse("cca-1", response: #"{"rewound":true}"#),
                                                     controlResponse("cca-2", success: settingAccepted)]
        steps += turnLines.map { .line($0) }
        steps.append(controlResponse("cca-3", response: #"{"rewound":\#(rewound)}"#))
        steps.append(.hang)
        return steps
    }

    /// The first launch is the pool's (scripted by `pooled`), later ones are cold turns replaying the recording.
    static func launcher(pooled: @escaping @Sendable () -> [ScriptedProcessLauncher.Step]) -> ScriptedProcessLauncher {
        let launches = Counter()
        return ScriptedProcessLauncher {
            launches.increment()
            return launches.value == 1 ? pooled() : Fixtures.lines("bare_partial_stream.jsonl").map { .line($0) }
        }
    }

    static func application(_ launcher: ScriptedProcessLauncher) throws -> (TestApplication, CLIPool) {
        let app = TestApplication(launcher: launcher, environment: ["CCA_POOL_SIZE": "1"])
        let pool = try #require(app.application.pool)
        pool.start()
        #expect(waitUntil(seconds: 10) { pool.snapshot().idleFresh == 1 }, "the pool never had an idle CLI")
        return (app, pool)
    }

    @Test("a turn on a pooled CLI is answered, the CLI is configured, rewound and goes back to the pool")
    func pooledTurn() throws {
        let launcher = Self.launcher { Self.pooledScript() }
        let (app, pool) = try Self.application(launcher)
        defer { pool.stop() }
        let response = app.chat()
        #expect(response.status == 200)
        #expect(response.text.contains("Hello from the mock! You said: hello"))
        let snapshot = pool.snapshot()
        #expect(snapshot.idleUsed == 1 && snapshot.servedWarm == 1 && snapshot.servedCold == 0 && launcher.launches.value == 1)
        let input = try #require(launcher.children.all.first).writtenInput()
        let lines: [[String: Any]] = input.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        let subtypes = lines.compactMap { ($0["request"] as? [String: Any])?["subtype"] as? String }
        #expect(subtypes == ["rewind_conversation", "apply_flag_settings", "rewind_conversation"])
        let users = lines.filter { $0["type"] as? String == "user" }
        #expect(users.count == 2 && users[0]["shouldQuery"] as? Bool == false)
        let user = try #require(users.last)
        let rewind = try #require(lines.compactMap { $0["request"] as? [String: Any] }.last)
        #expect(user["uuid"] as? String != nil && rewind["target_message_uuid"] as? String == user["uuid"] as? String)
        #expect(app.logLines.all.contains { $0.contains(#""cli_start":"pooled""#) && $0.contains(#""cli_exit":"kept warm""#) })
    }

    @Test("a pooled CLI that refuses a setting is ended and the turn starts cold, with nothing sent twice")
    func refusedSettingFallsBackCold() throws {
        let launcher = Self.launcher { Self.pooledScript(settingAccepted: false) }
        let (app, pool) = try Self.application(launcher)
        defer { pool.stop() }
        let response = app.chat()
        #expect(response.status == 200)
        #expect(response.text.components(separatedBy: "Hello from the mock! You said: hello").count == 2)
        #expect(launcher.launches.value >= 2)
        #expect(launcher.children.all.first?.wasTerminated == true)
        let snapshot = pool.snapshot()
        #expect(snapshot.servedCold == 1 && snapshot.idleUsed == 0)
        #expect(app.logLines.all.contains { $0.contains("did not take its settings") })
        #expect(app.logLines.all.contains { $0.contains(#""cli_start":"cold""#) })
    }

    @Test("a refused rewind ends the pooled CLI instead of returning it")
    func refusedRewindRetires() throws {
        let launcher = Self.launcher { Self.pooledScript(rewound: false) }
        let (app, pool) = try Self.application(launcher)
        defer { pool.stop() }
        #expect(app.chat().status == 200)
        let snapshot = pool.snapshot()
        #expect(snapshot.idleUsed == 0 && snapshot.retired >= 1 && snapshot.servedWarm == 1)
        // The script ignores its stdin closing: it had to be signalled, so it was ended rather than kept.
        #expect(launcher.children.all.first?.wasTerminated == true)
        #expect(app.logLines.all.contains { $0.contains("a rewind was refused") })
    }

    @Test("turns with client tools start cold, whatever the pool holds")
    func toolsStartCold() {
        let tools = TurnTools(offered: [ClientTool(name: "get_weather", description: "", inputSchema: .object([:]), strict: false)])
        let conversation = CLIConversation(messages: [ChatMessage(role: .user, content: [.text("hi")])])
        #expect(!TurnRunner.canUsePool(CLIInvocation.Request(conversation: conversation, cliModel: "claude-sonnet-4-5", maxTokens: nil, tools: tools)))
        #expect(TurnRunner.canUsePool(CLIInvocation.Request(conversation: conversation, cliModel: "claude-sonnet-4-5", maxTokens: nil)))
    }
}

@Suite("What a pooled CLI is told")
struct WarmTurnSettingsTests {
    static func request(_ messages: [ChatMessage], maxTokens: Int? = nil, thinking: Int? = nil) -> CLIInvocation.Request {
        CLIInvocation.Request(conversation: CLIConversation(messages: messages), cliModel: "claude-haiku-4-5", maxTokens: maxTokens,
                              thinkingBudget: thinking)
    }

    @Test("from launch: the model with the output limit (null: none), and nothing else while it matches")
    func fromLaunch() {
        let settings = WarmTurnSettings(Self.request([ChatMessage(role: .user, content: [.text("hi")])]))
        #expect(settings.controlRequests(from: .atLaunch(cliModel: "claude-opus-4-5")) == [
            .object(["subtype": .string("apply_flag_settings"), "settings": .object([
                "model": .string("claude-haiku-4-5"), "env": .object(["CLAUDE_CODE_MAX_OUTPUT_TOKENS": .null])])]),
        ])
        #expect(settings.controlRequests(from: .atLaunch(cliModel: "claude-haiku-4-5")).isEmpty)
    }

    @Test("each setting that differs is sent, the system prompt last; applied settings keep a prompt the turn did not set")
    func onlyWhatDiffers() {
        let settings = WarmTurnSettings(Self.request([ChatMessage(role: .system, content: [.text("Be terse.")]),
                                                      ChatMessage(role: .user, content: [.text("hi")])], maxTokens: 300, thinking: 2048))
        let current = WarmTurnSettings(cliModel: "claude-haiku-4-5", maxTokens: nil, thinkingBudget: 0, systemPrompt: "Be a pirate.")
        let requests = settings.controlRequests(from: current)
        #expect(requests.count == 3)
        #expect(requests[0]["settings"]?["env"]?["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == .string("300"))
        #expect(requests[1] == .object(["subtype": .string("set_max_thinking_tokens"), "max_thinking_tokens": .number(2048)]))
        #expect(requests[2] == .object(["subtype": .string("set_model"), "model": .string("claude-haiku-4-5"),
                                        "system_prompt": .string("Be terse."), "only_if_model_is_current": .bool(true)]))
        let applied = settings.applied(over: current)
        #expect(applied == settings && settings.controlRequests(from: applied).isEmpty)
        let promptless = WarmTurnSettings(cliModel: "claude-haiku-4-5", maxTokens: 300, thinkingBudget: 0, systemPrompt: nil)
        #expect(promptless.applied(over: applied).systemPrompt == "Be terse.")
        #expect(promptless.controlRequests(from: applied) == [
            .object(["subtype": .string("set_max_thinking_tokens"), "max_thinking_tokens": .number(0)])])
    }

    @Test("every user line of the handshake carries an id, oldest first; the bytes are otherwise the cold handshake's")
    func handshakeIDs() throws {
        let conversation = CLIConversation(messages: [
            ChatMessage(role: .user, content: [.text("u1")]), ChatMessage(role: .assistant, content: [.text("a1")]),
            ChatMessage(role: .user, content: [.text("/model now")]),
        ])
        let (lines, ids) = conversation.identifiedHandshake()
        #expect(ids.count == 2 && Set(ids).count == 2)
        guard case .priorUser(let prior) = lines[0], case .prompt(let prompt) = lines[2] else {
            Issue.record("unexpected lines \(lines)")
            return
        }
        let priorObject = try #require(JSONSerialization.jsonObject(with: Data(prior)) as? [String: Any])
        let promptObject = try #require(JSONSerialization.jsonObject(with: Data(prompt)) as? [String: Any])
        #expect(priorObject["uuid"] as? String == ids[0] && priorObject["shouldQuery"] as? Bool == false)
        #expect(promptObject["uuid"] as? String == ids[1] && promptObject["shouldQuery"] == nil)
        // The prompt's leading slash is split off, as on a cold CLI.
        let content = try #require((promptObject["message"] as? [String: Any])?["content"] as? [[String: Any]])
        #expect(content.compactMap { $0["text"] as? String } == ["/", "model now"])
        // Without ids, the same lines as the cold handshake (compared as JSON: key order is not fixed).
        func objects(_ lines: [CLIConversation.HandshakeLine]) -> [NSDictionary] {
            lines.compactMap { line in
                switch line {
                case .priorUser(let bytes), .priorAssistant(let bytes), .prompt(let bytes):
                    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? NSDictionary
                }
            }
        }
        let plain = objects(conversation.identifiedHandshake(userLineIDs: false).lines)
        #expect(plain.count == 3 && plain == objects(conversation.handshakeLines()))
    }

    @Test("a prior user turn starting with a slash, or tool blocks, keep a conversation off the pool")
    func handshakeMatchesTranscript() {
        func conversation(_ first: String) -> CLIConversation {
            CLIConversation(messages: [ChatMessage(role: .user, content: [.text(first)]), ChatMessage(role: .assistant, content: [.text("a")]),
                                       ChatMessage(role: .user, content: [.text("/now")])])
        }
        #expect(conversation("before").handshakeMatchesTranscript)
        #expect(conversation("///").handshakeMatchesTranscript)
        #expect(!conversation("/clear").handshakeMatchesTranscript)
        let tools = CLIConversation(messages: [
            ChatMessage(role: .user, content: [.text("weather?")]),
            ChatMessage(role: .assistant, content: [.toolUse(id: "toolu_1", name: "get_weather", input: .object([:]))]),
            ChatMessage(role: .tool, content: [.toolResult(toolUseID: "toolu_1", content: .string("sunny"), isError: false)]),
        ])
        #expect(!tools.handshakeMatchesTranscript)
    }
}
