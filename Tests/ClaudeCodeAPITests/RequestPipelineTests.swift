import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("The request path, in-process, from body to response")
struct RequestPipelineTests {
    let answer = "Hello from the mock! You said: hello"

    @Test("non-streaming: one chat.completion echoing the requested model, with usage")
    func nonStreaming() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        let response = app.chat()
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        let json = response.json
        #expect(json["object"] as? String == "chat.completion")
        #expect(json["model"] as? String == "gpt-4o")
        #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
        let choice = try #require((json["choices"] as? [[String: Any]])?.first)
        #expect((choice["message"] as? [String: Any])?["content"] as? String == answer)
        #expect(choice["finish_reason"] as? String == "stop")
        let usage = try #require(json["usage"] as? [String: Any])
        #expect(usage["prompt_tokens"] as? Int == 25 && usage["completion_tokens"] as? Int == 9 && usage["total_tokens"] as? Int == 34)
        #expect(response.ended)
    }

    @Test("streaming: role first, one id, deltas flushed one by one as they come, finish, [DONE]")
    func streaming() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl", pauseMilliseconds: 5))
        let response = app.chat(#","stream":true"#)
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/event-stream") == true)
        #expect(response.events.last == "[DONE]")
        let chunks = response.chunks
        #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["model"] as? String == "gpt-4o" })
        let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
        #expect(deltas.first?["role"] as? String == "assistant")
        #expect(deltas.compactMap { $0["content"] as? String }.joined() == answer)
        #expect((chunks.last?["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop")
        #expect(chunks.allSatisfy { $0["usage"] == nil })
        #expect(response.flushes >= 9)  // one flush per event
    }

    @Test("the events of lines read together go out in one flush, and lines that come one by one are flushed one by one")
    func linesReadTogetherShareOneFlush() throws {
        let lines = Fixtures.lines("bare_partial_stream.jsonl")
        let together = TestApplication(launcher: ScriptedProcessLauncher { [.lines(lines)] }).chat(#","stream":true"#)
        #expect(together.events.last == "[DONE]")
        #expect(together.flushes == 1)
        let apart = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl", pauseMilliseconds: 5))
            .chat(#","stream":true"#)
        let deltas = lines.filter { $0.firstRange(of: Array("text_delta".utf8)) != nil }.count
        #expect(apart.flushes >= deltas + 1)  // the role chunk with the first delta, each later delta, the end
        #expect(apart.text == together.text.replacingOccurrences(of: Self.chunkID(together.text), with: Self.chunkID(apart.text))
            .replacingOccurrences(of: Self.created(together.text), with: Self.created(apart.text)))
    }

    static func chunkID(_ text: String) -> String {
        String(text.firstRange(of: /chatcmpl-[A-Za-z0-9]+/).map { text[$0] } ?? "")
    }

    static func created(_ text: String) -> String {
        String(text.firstRange(of: /"created":[0-9]+/).map { text[$0] } ?? "")
    }

    @Test("include_usage adds one last chunk with no choices and the usage")
    func includeUsage() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        let chunks = app.chat(#","stream":true,"stream_options":{"include_usage":true}"#).chunks
        let withUsage = chunks.filter { $0["usage"] != nil }
        #expect(withUsage.count == 1)
        #expect((withUsage.first?["choices"] as? [Any])?.isEmpty == true)
        #expect(chunks.last.map { $0["usage"] != nil } == true)
    }

    @Test("an upstream auth failure before any text is a real HTTP 502, not a 200 stream")
    func earlyFailureGetsStatus() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("err_401_default_retries.jsonl"))
        let response = app.chat(#","stream":true"#)
        #expect(response.status == 502)
        let error = try #require(response.json["error"] as? [String: Any])
        #expect(error["code"] as? String == "upstream_authentication_failed")
        #expect(!response.text.contains("data:"))
    }

    @Test("a failure after streaming began is an SSE error event, then [DONE]")
    func lateFailureIsAnEvent() throws {
        let launcher = ScriptedProcessLauncher {
            Fixtures.lines("bare_partial_stream.jsonl").prefix(8).map { .line($0) }
                + [.stderr("segfault at /opt/claude/cli.js with ANTHROPIC_API_KEY=sk-ant-api03-secretsecret")]
        }
        let app = TestApplication(launcher: launcher)
        let response = app.chat(#","stream":true"#)
        #expect(response.status == 200)
        #expect(response.events.last == "[DONE]")
        let errorEvent = try #require(response.chunks.last?["error"] as? [String: Any])
        #expect(errorEvent["code"] as? String == "cli_failed")
        // The client gets a generic message naming the request; what the CLI said goes to the log, redacted.
        let message = try #require(errorEvent["message"] as? String)
        #expect(message.contains("request id test"))
        #expect(!message.contains("segfault") && !message.contains("/opt/claude"))
        let logged = try #require(app.logLines.all.first { $0.contains("CLI ended before finishing the answer") })
        #expect(logged.contains("segfault at /opt/claude/cli.js"))
        #expect(!logged.contains("sk-ant-api03-secretsecret") && !app.logLines.all.contains { $0.contains("secretsecret") })
    }

    @Test("garbage lines from the CLI are skipped and logged; the answer still arrives")
    func garbageLines() throws {
        let launcher = ScriptedProcessLauncher {
            var steps = Fixtures.lines("bare_partial_stream.jsonl").map { ScriptedProcessLauncher.Step.line($0) }
            steps.insert(.line(Array("this is not json".utf8)), at: 3)
            steps.insert(.line(Array(#"{"type":"stream_event","event":{"#.utf8)), at: 6)
            return steps
        }
        let app = TestApplication(launcher: launcher)
        let response = app.chat()
        #expect(response.status == 200)
        #expect(((response.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String == answer)
        #expect(app.logLines.all.contains { $0.contains("unparseable CLI output lines skipped") && $0.contains(#""lines":2"#) })
    }

    @Test("a silent CLI is ended at the request deadline with 504")
    func requestTimeout() throws {
        let launcher = ScriptedProcessLauncher { [.hang] }
        let app = TestApplication(launcher: launcher, environment: ["CCA_REQUEST_TIMEOUT_SECONDS": "1"])
        let start = Date()
        let response = app.chat()
        #expect(response.status == 504)
        #expect((response.json["error"] as? [String: Any])?["code"] as? String == "request_timeout")
        #expect(Date().timeIntervalSince(start) < 10)  // the 1 s deadline, not the 300 s stall timeout
    }

    @Test("a client that goes away mid-stream ends the CLI")
    func clientDisconnect() throws {
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl", pauseMilliseconds: 20)
        let writer = RecordingResponseWriter()
        writer.flushesBeforeDisconnect = 3
        let app = TestApplication(launcher: launcher)
        _ = app.chat(#","stream":true"#, writer: writer)
        let process = try #require(launcher.children.last)
        #expect(process.wasTerminated)
        #expect(app.logLines.all.contains { $0.contains(#""client_disconnected":true"#) })
    }

    @Test("streams that wait longer than the ping interval get keep-alive comments")
    func keepAlive() throws {
        let launcher = ScriptedProcessLauncher {
            let lines = Fixtures.lines("bare_partial_stream.jsonl")
            return lines.prefix(3).map { .line($0) } + [.pause(milliseconds: 2_300)] + lines.dropFirst(3).map { .line($0) }
        }
        let response = TestApplication(launcher: launcher, environment: ["CCA_PING_INTERVAL_SECONDS": "1"]).chat(#","stream":true"#)
        #expect(response.text.contains(": ping\n\n"))
        #expect(response.events.last == "[DONE]")
    }

    @Test("unknown models are 404 model_not_found, before any CLI starts")
    func unknownModel() throws {
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl")
        let app = TestApplication(launcher: launcher)
        let response = app.send("POST", "/v1/chat/completions", body: #"{"model":"gpt-99","messages":[{"role":"user","content":"x"}]}"#)
        #expect(response.status == 404)
        #expect((response.json["error"] as? [String: Any])?["code"] as? String == "model_not_found")
        #expect(launcher.launches.value == 0)
    }

    @Test("a missing CLI is 503 cli_not_installed, and /health says so")
    func missingCLI() throws {
        let app = TestApplication(launcher: PosixProcessLauncher(), environment: ["CCA_CLAUDE_PATH": "/nonexistent/claude"])
        let response = app.chat()
        #expect(response.status == 503)
        #expect((response.json["error"] as? [String: Any])?["code"] as? String == "cli_not_installed")
        #expect(!response.text.contains("/nonexistent"))
        let health = app.send("GET", "/health")
        #expect(health.status == 503)
        #expect((health.json["cli"] as? [String: Any])?["available"] as? Bool == false)
        #expect(!health.text.contains("/nonexistent"))
        // The operator sees where it was looked for, on the loopback-only status page.
        let probe = app.send("GET", "/status").json["cli_probe"] as? [String: Any]
        #expect((probe?["problem"] as? String)?.contains("/nonexistent/claude") == true)
    }

    @Test("a body over the limit is 413; malformed JSON is 400; wrong paths and methods are 404 and 405")
    func transportErrors() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"),
                                  environment: ["CCA_MAX_BODY_BYTES": "100"])
        #expect(app.send("POST", "/v1/chat/completions", body: String(repeating: "x", count: 500)).status == 413)
        let malformed = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        let bad = malformed.send("POST", "/v1/chat/completions", body: "{not json")
        #expect(bad.status == 400)
        #expect((bad.json["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
        #expect(malformed.send("GET", "/v2/nothing").status == 404)
        let wrongMethod = malformed.send("GET", "/v1/chat/completions")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "POST")
    }

    @Test("the model list is OpenAI's list format and includes aliases")
    func models() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"),
                                  environment: ["CCA_MODELS": "claude-sonnet-4-5", "CCA_MODEL_ALIASES": "gpt-4o=claude-sonnet-4-5"])
        let json = app.send("GET", "/v1/models").json
        #expect(json["object"] as? String == "list")
        let ids = (json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids == ["claude-sonnet-4-5", "gpt-4o"])
        #expect(app.send("GET", "/v1/models/gpt-4o").json["id"] as? String == "gpt-4o")
        #expect(app.send("GET", "/v1/models/nope").status == 404)
    }

    @Test("when every CLI slot is busy, the next request gets 429 with Retry-After quickly")
    func overCapacity() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher { [.hang] },
                                  environment: ["CCA_MAX_CONCURRENT_CLI": "1", "CCA_QUEUE_TIMEOUT_MS": "100", "CCA_REQUEST_TIMEOUT_SECONDS": "60"])
        let busy = Thread { _ = app.chat() }
        busy.start()
        #expect(waitUntil(seconds: 10) { app.application.slots.snapshot.busy == 1 })
        let start = Date()
        let response = app.chat()
        #expect(response.status == 429)
        #expect(response.header("Retry-After") == "1")
        // Refused after its 100 ms in the queue, not when the busy turn's slot comes free (its deadline is 60 s away);
        // the bound leaves a loaded machine room.
        #expect(Date().timeIntervalSince(start) < 10)
        app.application.cancelInFlight()
        #expect(waitUntil(seconds: 10) { app.application.slots.snapshot.busy == 0 })
    }

    @Test("a CLI that dies before printing anything is retried once on a fresh process")
    func retryBeforeOutput() throws {
        let attempts = Counter()
        let launcher = ScriptedProcessLauncher {
            attempts.increment()
            return attempts.value == 1 ? [.stderr("crashed at start-up")] : Fixtures.lines("bare_partial_stream.jsonl").map { .line($0) }
        }
        let app = TestApplication(launcher: launcher)
        let response = app.chat(#","stream":true"#)
        #expect(launcher.launches.value == 2)
        #expect(response.status == 200)
        #expect(response.events.last == "[DONE]")
        #expect(app.logLines.all.contains { $0.contains("retrying once") && $0.contains("crashed at start-up") })
    }

    @Test("a CLI that fails after output began is not retried")
    func noRetryAfterOutput() throws {
        let launcher = ScriptedProcessLauncher { Fixtures.lines("bare_partial_stream.jsonl").prefix(2).map { .line($0) } }
        let response = TestApplication(launcher: launcher).chat()
        #expect(launcher.launches.value == 1)
        #expect(response.status == 502)
    }

    @Test("a CLI failing twice at start-up is a 502 naming the request; the log says why")
    func failsTwice() throws {
        let launcher = ScriptedProcessLauncher { [.stderr("boom")] }
        let app = TestApplication(launcher: launcher)
        let response = app.chat()
        #expect(launcher.launches.value == 2)
        #expect(response.status == 502)
        let message = try #require((response.json["error"] as? [String: Any])?["message"] as? String)
        #expect(message.contains("request id test") && !message.contains("boom"))
        #expect(app.logLines.all.contains { $0.contains("failed twice") && $0.contains("boom") })
    }

    @Test("no room for the scratch folder is a clear 503, not a crash")
    func scratchUnavailable() throws {
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl")
        let response = TestApplication(launcher: launcher, environment: ["CCA_SCRATCH_DIR": "/nonexistent/scratch"]).chat()
        #expect(response.status == 503)
        #expect((response.json["error"] as? [String: Any])?["code"] as? String == "scratch_unavailable")
        #expect(launcher.launches.value == 0)
    }

    @Test("at shutdown, turns still running end with a shutting_down event and their CLI is ended")
    func cancelledAtShutdown() throws {
        let launcher = ScriptedProcessLauncher {
            Fixtures.lines("bare_partial_stream.jsonl").prefix(6).map { .line($0) } + [.hang]
        }
        let app = TestApplication(launcher: launcher)
        let writer = RecordingResponseWriter()
        let canceller = Thread {
            // Once the stream has begun (its first flush), the stop must come as an event, not as a status.
            if waitUntil(seconds: 10, { writer.flushCount > 0 }) {
                app.application.stopAdmitting()
                app.application.cancelInFlight()
            }
        }
        canceller.start()
        let response = app.chat(#","stream":true"#, writer: writer)
        #expect(response.status == 200)
        #expect((response.chunks.last?["error"] as? [String: Any])?["code"] as? String == "shutting_down")
        #expect(response.events.last == "[DONE]")
        #expect(launcher.children.last?.wasTerminated == true)
        // And new requests are refused while stopping.
        #expect(app.chat().status == 503)
    }

    @Test("a client that left while waiting for a slot gets no CLI")
    func clientGoneBeforeLaunch() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        close(pair[1])  // the client hangs up
        defer { close(pair[0]) }
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl")
        let app = TestApplication(launcher: launcher)
        let writer = RecordingResponseWriter()
        writer.disconnectDescriptor = pair[0]
        _ = app.chat(writer: writer)
        #expect(launcher.launches.value == 0)
        #expect(app.logLines.all.contains { $0.contains(#""client_disconnected":true"#) && $0.contains(#""status":499"#) })
    }

    @Test("with reasoning_effort, thinking streams as reasoning_content and stays out of content")
    func reasoningContent() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("thinking_partial_stream.jsonl"))
        let chunks = app.chat(#","stream":true,"reasoning_effort":"low""#).chunks
        let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
        #expect(deltas.compactMap { $0["reasoning_content"] as? String }.joined() == "Let me think about this.")
        #expect(deltas.compactMap { $0["content"] as? String }.joined() == answer)
        let message = (app.chat(#","reasoning_effort":"low""#).json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
        #expect(message?["reasoning_content"] as? String == "Let me think about this.")
        #expect(message?["content"] as? String == answer)
        let plain = (app.chat().json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
        #expect(plain?["reasoning_content"] == nil)
    }

    @Test("/status counts requests, CLI runs, refusals and tokens, in php-fpm's words")
    func status() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        _ = app.chat()
        _ = app.chat(#","stream":true"#)
        _ = app.send("GET", "/nope")
        let json = app.send("GET", "/status").json
        let requests = try #require(json["requests"] as? [String: Any])
        #expect(requests["accepted"] as? Int == 4)       // including this /status request
        #expect(requests["in_flight"] as? Int == 1)
        #expect((requests["by_status"] as? [String: Int]) == ["2xx": 2, "4xx": 1])
        let cli = try #require(json["cli"] as? [String: Any])
        #expect(cli["runs"] as? Int == 2 && cli["max_active"] as? Int == 1 && cli["active"] as? Int == 0)
        #expect(cli["max_children_reached"] as? Int == 0)
        #expect((json["tokens"] as? [String: Int]) == ["prompt": 50, "completion": 18])
    }

    @Test("the access log has metadata and never the prompt")
    func logsHaveNoContent() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        _ = app.chat(content: "my secret plan")
        let line = try #require(app.logLines.all.last { $0.contains(#""msg":"request""#) })
        for field in ["request_id", "method", "path", "status", "duration_ms", "model", "prompt_tokens", "completion_tokens"] {
            #expect(line.contains("\"\(field)\""))
        }
        #expect(!app.logLines.all.contains { $0.contains("secret plan") || $0.contains("test-key") })
    }
}


