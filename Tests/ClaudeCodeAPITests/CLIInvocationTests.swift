import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("Building the CLI launch")
struct CLIInvocationTests {
    let configuration = try! Configuration.fromEnvironment([
        "ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": "http://127.0.0.1:1", "SECRET_TOKEN": "do-not-pass", "CCA_MAX_RETRIES": "1",
    ])

    func invocation(_ messages: [ChatMessage], maxTokens: Int? = nil) -> CLIInvocation {
        CLIInvocation(request: .init(conversation: CLIConversation(messages: messages), cliModel: "claude-sonnet-4-5",
                                     maxTokens: maxTokens, sessionID: "11111111-2222-3333-4444-555555555555"),
                      configuration: configuration, executable: "/usr/bin/claude", scratchDirectory: "/tmp/cca-abc123")
    }

    @Test("a pure chat turn: headless stream-json, no tools, no saved session, prompt only on stdin")
    func pureChatFlags() throws {
        let hostile = "\"; rm -rf / # --dangerously-skip-permissions $(id)"
        let launch = invocation([ChatMessage(role: .system, content: [.text("Be terse.")]), ChatMessage(role: .user, content: [.text(hostile)])])
        let args = launch.process.arguments
        for flag in ["-p", "--bare", "--no-session-persistence", "--verbose", "--include-partial-messages"] { #expect(args.contains(flag)) }
        #expect(args[args.firstIndex(of: "--tools")! + 1] == "")
        #expect(args[args.firstIndex(of: "--input-format")! + 1] == "stream-json")
        #expect(args[args.firstIndex(of: "--model")! + 1] == "claude-sonnet-4-5")
        let promptFile = args[args.firstIndex(of: "--system-prompt-file")! + 1]
        #expect(promptFile == "/tmp/cca-abc123/system-prompt.txt")
        #expect(launch.files.first { $0.path == promptFile }?.contents == Array("Be terse.".utf8))
        // The HOME starts as a CLI that has run before leaves it, with no id and nothing of the request.
        let state = try #require(launch.files.first { $0.path.hasSuffix("/.claude.json") })
        let object = try #require(JSONSerialization.jsonObject(with: Data(state.contents)) as? [String: Any])
        #expect(object["migrationVersion"] as? Int == 15 && object["userID"] == nil && object["machineID"] == nil)
        #expect(!args.contains { $0.contains("rm -rf") || $0 == "--dangerously-skip-permissions" || $0.contains("Be terse") })
        #expect(String(decoding: launch.stdinLine, as: UTF8.self).contains("rm -rf"))
        #expect(launch.transcript == nil)
        #expect(launch.process.workingDirectory == "/tmp/cca-abc123")
    }

    @Test("the CLI gets an allow-listed environment plus the service's settings")
    func environment() {
        let env = invocation([ChatMessage(role: .user, content: [.text("x")])], maxTokens: 77).process.environment
        #expect(env["ANTHROPIC_API_KEY"] == "sk-test")
        #expect(env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:1")
        #expect(env["SECRET_TOKEN"] == nil)
        #expect(env["HOME"] == "/tmp/cca-abc123")
        #expect(env["CLAUDE_CODE_MAX_RETRIES"] == "1")
        #expect(env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "77")
        #expect(env["MAX_THINKING_TOKENS"] == "0")
        let thinking = CLIInvocation(request: .init(conversation: CLIConversation(messages: [ChatMessage(role: .user, content: [.text("x")])]),
                                                    cliModel: "m", maxTokens: nil, thinkingBudget: 8_192),
                                     configuration: configuration, executable: "/usr/bin/claude", scratchDirectory: "/tmp/cca-x")
        #expect(thinking.process.environment["MAX_THINKING_TOKENS"] == "8192")
    }

    @Test("prior turns go into a session transcript resumed with --resume")
    func history() throws {
        let launch = invocation([
            ChatMessage(role: .user, content: [.text("my name is Bob")]),
            ChatMessage(role: .assistant, content: [.text("Hi Bob")]),
            ChatMessage(role: .user, content: [.text("what is my name?")]),
        ])
        let args = launch.process.arguments
        #expect(args[args.firstIndex(of: "--resume")! + 1] == "11111111-2222-3333-4444-555555555555")
        let transcript = try #require(launch.transcript)
        #expect(transcript.path == "/tmp/cca-abc123/.claude/projects/-tmp-cca-abc123/11111111-2222-3333-4444-555555555555.jsonl")
        let lines = String(decoding: transcript.contents, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains(#""type":"user""#) && lines[0].contains("my name is Bob") && lines[0].contains(#""parentUuid":null"#))
        #expect(lines[1].contains(#""type":"assistant""#) && lines[1].contains("Hi Bob"))
        #expect(String(decoding: launch.stdinLine, as: UTF8.self).contains("what is my name?"))
    }

    @Test("system and developer messages join into one system prompt; consecutive user messages merge")
    func conversationShape() {
        let conversation = CLIConversation(messages: [
            ChatMessage(role: .system, content: [.text("A")]),
            ChatMessage(role: .developer, content: [.text("B")]),
            ChatMessage(role: .user, content: [.text("one")]),
            ChatMessage(role: .user, content: [.text("two")]),
        ])
        #expect(conversation.systemPrompt == "A\n\nB")
        #expect(conversation.history.isEmpty)
        #expect(conversation.prompt == [.text("one"), .text("two")])
    }

    @Test("images travel as base64 image blocks on stdin")
    func imageBlocks() {
        let launch = invocation([ChatMessage(role: .user, content: [.image(mediaType: "image/png", base64Data: "AAAA")])])
        let line = String(decoding: launch.stdinLine, as: UTF8.self)
        #expect(line.contains(#""type":"image""#) && line.contains(#""media_type":"image/png""#) && line.contains(#""data":"AAAA""#))
        #expect(line.hasSuffix("\n"))
    }
}

extension CLIInvocation {
    /// The one stdin line of a turn without tool blocks.
    var stdinLine: [UInt8] {
        guard case .line(let line) = input else { return [] }
        return line
    }
}
