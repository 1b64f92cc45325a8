import Foundation
import Testing
import HTTPCore
@testable import ClaudeCodeAPI

@Suite("Hostile clients: text stays text, bodies are bounded, nothing internal leaks")
struct HostileInputTests {
    // MARK: User text is never a CLI command

    @Test("text whose first character is / is split after its slashes, and concatenates to the client's text",
          arguments: ["/context", "/model claude-opus-4-5", "//compact", "/ space", "/simplify tidy this", "/x\n/y"])
    func slashTextIsSplit(_ text: String) throws {
        let parts = CLIConversation.literal([.text(text)])
        #expect(parts.count == 2)
        let texts = parts.compactMap { if case .text(let t) = $0 { t } else { nil } }
        #expect(texts.joined() == text)
        #expect(texts.last?.hasPrefix("/") == false && texts.allSatisfy { !$0.isEmpty })
    }

    @Test("other text, slashes alone, and a last part that is not text are left whole",
          arguments: ["hello /context", " /context", "!ls /", "# remember", "@/etc/passwd", "/", "///", ""])
    func otherTextIsWhole(_ text: String) {
        #expect(CLIConversation.literal([.text(text)]) == [.text(text)])
        let image = ContentPart.image(mediaType: "image/png", base64Data: "AAAA")
        #expect(CLIConversation.literal([.text("/context"), image]) == [.text("/context"), image])
    }

    @Test("only the last text part is split; earlier parts keep their form")
    func onlyTheLastPart() {
        #expect(CLIConversation.literal([.text("/a"), .text("/b")]) == [.text("/a"), .text("/"), .text("b")])
    }

    @Test("the stdin line carries the split blocks; the transcript keeps prior turns verbatim")
    func stdinAndTranscript() throws {
        let conversation = CLIConversation(messages: [
            ChatMessage(role: .user, content: [.text("/context")]), ChatMessage(role: .assistant, content: [.text("ok")]),
            ChatMessage(role: .user, content: [.text("/model opus")]),
        ])
        let line = try #require(try JSONSerialization.jsonObject(with: Data(conversation.stdinLine())) as? [String: Any])
        let blocks = try #require((line["message"] as? [String: Any])?["content"] as? [[String: Any]])
        #expect(blocks.compactMap { $0["text"] as? String } == ["/", "model opus"])
        let transcript = String(decoding: conversation.transcript(sessionID: "s"), as: UTF8.self)
        #expect(transcript.contains(#""text":"\/context""#) || transcript.contains(#""text":"/context""#))
    }

    @Test("the CLI runs with slash commands and other MCP configurations off, attachments off, a private HOME")
    func defenceInDepth() throws {
        let configuration = try Configuration.fromEnvironment(["CCA_CLAUDE_PATH": "/bin/true"])
        let invocation = CLIInvocation(request: .init(conversation: CLIConversation(messages: [ChatMessage(role: .user, content: [.text("x")])]),
                                                      cliModel: "claude-sonnet-4-5", maxTokens: nil),
                                       configuration: configuration, executable: "/bin/true", scratchDirectory: "/tmp/cca-test")
        #expect(invocation.process.arguments.contains("--disable-slash-commands"))
        #expect(invocation.process.arguments.contains("--strict-mcp-config"))
        #expect(invocation.process.environment["CLAUDE_CODE_DISABLE_ATTACHMENTS"] == "1")
        #expect(invocation.process.environment["HOME"] == "/tmp/cca-test")
    }

    @Test("a shared CLI HOME is refused at start, with a message saying what to use instead")
    func sharedHomeRefused() {
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.fromEnvironment(["CCA_CLI_HOME": "/var/lib/claude-code-api"])
        }
        #expect(error?.variable == "CCA_CLI_HOME")
        #expect(error?.message.contains("CLAUDE_CODE_OAUTH_TOKEN") == true)
    }

    // MARK: Content-Type

    @Test("a body that says it is not JSON is 415, naming the header", arguments: ["text/plain", "application/x-www-form-urlencoded",
                                                                                   "multipart/form-data; boundary=x", "application/jsonx"])
    func unsupportedContentType(_ type: String) throws {
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl")
        let app = TestApplication(launcher: launcher)
        let response = app.send("POST", "/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}"#,
                                headers: ["content-type": type])
        #expect(response.status == 415)
        let error = try #require(response.json["error"] as? [String: Any])
        #expect(error["code"] as? String == "unsupported_media_type")
        #expect((error["message"] as? String)?.contains("Content-Type") == true)
        #expect(launcher.launches.value == 0)
    }

    @Test("JSON with parameters or in another case, and no Content-Type at all, are accepted",
          arguments: ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", " application/json ;charset=UTF-8", nil])
    func jsonAccepted(_ type: String?) {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        let response = app.send("POST", "/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}"#,
                                headers: type.map { ["content-type": $0] } ?? [:])
        #expect(response.status == 200)
    }

    // MARK: Bounded work

    @Test("a stop sequence longer than 256 bytes is 400 naming it")
    func longStopRefused() throws {
        let long = String(repeating: "é", count: 129)  // 258 bytes
        for (stop, param) in [(#""\#(long)""#, "stop"), (#"["ok","\#(long)"]"#, "stop[1]")] {
            let json = try JSONValue.parse(Array(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":\#(stop)}"#.utf8))
            let error = #expect(throws: APIError.self) { try ChatCompletionRequest.validate(json, maximumOutputTokens: 1000) }
            #expect(error?.param == param && error?.code == .invalidValue)
        }
    }

    @Test("stop matching is linear in the output: an adversarial stream of one-character deltas costs a few comparisons each")
    func stopMatchingIsLinear() {
        // Sequences that a stream of "a"s keeps almost matching, the worst case for re-comparing held text.
        let stops = [String(repeating: "a", count: 255) + "b", String(repeating: "a", count: 200) + "c",
                     String(repeating: "ab", count: 128), "a" + String(repeating: "x", count: 255)]
        var matcher = StopSequenceMatcher(stops)
        var shown = 0
        let characters = 100_000
        for _ in 0..<characters { shown += matcher.feed("a").unicodeScalars.count }
        shown += matcher.finish().unicodeScalars.count
        #expect(shown == characters && !matcher.isStopped)
        // KMP: at most two comparisons per character and sequence, amortised.
        #expect(matcher.comparisons <= 2 * stops.count * characters)
    }

    @Test("too many messages, parts, images or JSON values are a clear 400 before any CLI", arguments: [
        (String(repeating: #"{"role":"user","content":"x"},"#, count: 2_000) + #"{"role":"user","content":"x"}"#, "messages"),
        (#"{"role":"user","content":["# + String(repeating: #"{"type":"text","text":"x"},"#, count: 500) + #"{"type":"text","text":"x"}]}"#,
         "messages[0].content"),
    ])
    func countsAreCapped(_ messages: String, _ param: String) throws {
        let json = try JSONValue.parse(Array(#"{"model":"m","messages":[\#(messages)]}"#.utf8))
        let error = #expect(throws: APIError.self) { try ChatCompletionRequest.validate(json, maximumOutputTokens: 1000) }
        #expect(error?.param == param && error?.status == 400)
    }

    @Test("more than 100 images in one request is 400")
    func imagesAreCapped() throws {
        let image = #"{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}"#
        let parts = Array(repeating: image, count: 101).joined(separator: ",")
        let json = try JSONValue.parse(Array(#"{"model":"m","messages":[{"role":"user","content":[\#(parts)]}]}"#.utf8))
        let error = #expect(throws: APIError.self) { try ChatCompletionRequest.validate(json, maximumOutputTokens: 1000) }
        #expect(error?.param == "messages[0].content" && error?.status == 400)
    }

    @Test("a body of many small values is refused before a tree is built for it")
    func valuesAreCapped() {
        let body = "[" + Array(repeating: "0", count: 100_001).joined(separator: ",") + "]"
        #expect(throws: JSONValue.ShapeError.tooManyValues(100_000)) { try JSONValue.parse(Array(body.utf8)) }
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        let response = app.send("POST", "/v1/chat/completions", body: body)
        #expect(response.status == 400)
        #expect((response.json["error"] as? [String: Any])?["code"] as? String == "invalid_json")
    }

    // MARK: Nothing internal leaks

    @Test("secrets are redacted from text bound for the log", arguments: [
        ("Authorization: Bearer abcdef123456789", "abcdef123456789"),
        ("key sk-ant-api03-AbCdEf0123456789xyz failed", "AbCdEf0123456789xyz"),
        ("proxy https://bob:hunter22@proxy.example:8080/ refused", "hunter22"),
        ("ANTHROPIC_API_KEY=sk-live-9999 CLAUDE_CODE_OAUTH_TOKEN=tok_abcdefgh", "tok_abcdefgh"),
        (#"{"api_key": "zzz-secret-zzz"}"#, "zzz-secret-zzz"),
    ])
    func redaction(_ text: String, _ secret: String) {
        let redacted = LogRedaction.redact(text)
        #expect(!redacted.contains(secret))
        #expect(redacted.contains("redacted"))
    }

    @Test("/health says only ok or not, the CLI version and slot usage")
    func healthIsTerse() throws {
        let app = TestApplication(launcher: PosixProcessLauncher(), environment: ["CCA_CLAUDE_PATH": "/bin/true"])
        let health = app.send("GET", "/health").json
        #expect(Set(health.keys) == ["status", "cli", "cli_slots", "draining"])
        #expect(Set((health["cli"] as? [String: Any] ?? [:]).keys).isSubset(of: ["available", "version"]))
    }
}
