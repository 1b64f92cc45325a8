import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("/metrics: the Prometheus families, as exposition text")
struct ServiceMetricsTests {
    let chatRoute = "/v1/chat/completions"

    func scrape(_ app: TestApplication, from address: String = "127.0.0.1") -> (RecordingResponseWriter, Exposition) {
        let response = app.send("GET", "/metrics", remoteAddress: address)
        return (response, Exposition(response.text))
    }

    @Test("a finished chat completion counts its route, status class, model, tokens by key and an ok CLI exit")
    func finishedTurn() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        #expect(app.chat().status == 200)
        let (response, metrics) = scrape(app)
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(metrics.value("claude_code_api_requests_total", ["route": chatRoute, "status_class": "2xx", "model": "gpt-4o"]) == 1)
        #expect(metrics.value("claude_code_api_cli_exits_total", ["cause": "ok"]) == 1)
        // The recording's usage: 25 input tokens, none cached, 9 output. No client key yet: key="none".
        let tokens = { (type: String) in
            metrics.value("claude_code_api_tokens_total", ["model": "gpt-4o", "key": "none", "type": type])
        }
        #expect(tokens("input") == 25 && tokens("cached") == 0 && tokens("output") == 9)
        #expect(metrics.value("claude_code_api_request_duration_seconds_count", ["route": chatRoute]) == 1)
        #expect(metrics.value("claude_code_api_time_to_first_token_seconds_count", ["model": "gpt-4o"]) == 1)
    }

    @Test("every family has HELP and TYPE, and the issue's families are all there")
    func familiesAreDescribed() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        _ = app.chat()
        let (_, metrics) = scrape(app)
        let families = [
            "requests_total": "counter", "request_duration_seconds": "histogram", "time_to_first_token_seconds": "histogram",
            "requests_in_flight": "gauge", "requests_queued": "gauge", "cli_slots_busy": "gauge", "cli_slots_max": "gauge",
            "cli_processes": "gauge", "cli_resident_memory_bytes": "gauge", "cli_exits_total": "counter",
            "tokens_total": "counter", "rejected_requests_total": "counter", "cli_available": "gauge", "build_info": "gauge",
            "cli_turns_total": "counter", "pool_idle_clis": "gauge",
        ]
        for (family, type) in families {
            let name = "claude_code_api_\(family)"
            #expect(metrics.types[name] == type, "\(name)")
            #expect(metrics.help[name]?.isEmpty == false, "\(name)")
        }
        #expect(Set(metrics.types.keys) == Set(families.keys.map { "claude_code_api_\($0)" }))
        #expect(metrics.value("claude_code_api_cli_turns_total", ["start": "cold"]) == 1)
        #expect(metrics.value("claude_code_api_cli_turns_total", ["start": "reused"]) == 0)
    }

    @Test("an alias path counts under its route's first path; unknown paths are one label, never the path")
    func routeLabels() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        app.send("POST", "/chat/completions", body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
        app.send("GET", "/v2/secret-looking/path")
        app.send("DELETE", "/v1/models")
        let (_, metrics) = scrape(app)
        #expect(metrics.value("claude_code_api_requests_total", ["route": chatRoute, "status_class": "2xx", "model": "gpt-4o"]) == 1)
        #expect(metrics.value("claude_code_api_requests_total", ["route": "unmatched", "status_class": "4xx", "model": ""]) == 2)
        #expect(!metrics.samples.contains { $0.labels.values.contains { $0.contains("secret-looking") || $0 == "/chat/completions" } })
    }

    @Test("a model name the catalogue does not list never becomes a label value")
    func unlistedModel() throws {
        let metrics = ServiceMetrics(serviceVersion: "1", models: ["gpt-4o"])
        var outcome = RequestOutcome(status: 200)
        outcome.model = "my \"prompt\" as a model"
        outcome.usage = CLIUsage(inputTokens: 3, outputTokens: 4)
        metrics.record(outcome, route: chatRoute, timing: RequestTiming(durationNanoseconds: 1_000_000))
        let text = Exposition(String(decoding: metrics.exposition(.init()), as: UTF8.self))
        #expect(text.value("claude_code_api_requests_total", ["route": chatRoute, "status_class": "2xx", "model": ""]) == 1)
        #expect(text.value("claude_code_api_tokens_total", ["model": "", "type": "output"]) == 4)
        #expect(!text.samples.contains { $0.labels.values.contains { $0.contains("prompt") } })
    }

    @Test("CLI exits are counted by cause: ok, error result, disconnect, timeout, crash, shutdown")
    func exitCauses() throws {
        func cause(_ code: APIError.Code?, disconnected: Bool = false, exit: ProcessExit? = .exited(code: 0)) -> CLIExitCause? {
            var outcome = RequestOutcome(status: 200)
            outcome.errorCode = code
            outcome.clientDisconnected = disconnected
            outcome.cliExit = exit
            return CLIExitCause(outcome)
        }
        #expect(cause(nil) == .ok)
        #expect(cause(nil, exit: .signalled(SIGTERM)) == .ok)  // cut at a stop sequence: the service ended it
        #expect(cause(.upstreamAuthenticationFailed) == .errorResult)
        #expect(cause(.upstreamOverloaded) == .errorResult)
        #expect(cause(nil, disconnected: true, exit: .signalled(SIGTERM)) == .disconnect)
        #expect(cause(.requestTimeout, exit: .signalled(SIGTERM)) == .timeout)
        #expect(cause(.cliStalled, exit: .signalled(SIGKILL)) == .timeout)
        #expect(cause(.cliFailed, exit: .signalled(SIGSEGV)) == .crash)
        #expect(cause(.shuttingDown, exit: .signalled(SIGTERM)) == .shutdown)
        #expect(cause(.scratchUnavailable, exit: .notStarted) == nil)
        #expect(cause(.serverBusy, exit: nil) == nil)
    }

    @Test("a CLI that dies at start-up counts as a crash even when the retry succeeds")
    func startFailureIsACrash() throws {
        let attempts = Counter()
        let launcher = ScriptedProcessLauncher {
            attempts.increment()
            return attempts.value == 1 ? [.stderr("crashed at start-up")] : Fixtures.lines("bare_partial_stream.jsonl").map { .line($0) }
        }
        let app = TestApplication(launcher: launcher)
        #expect(app.chat().status == 200)
        let (_, metrics) = scrape(app)
        #expect(metrics.value("claude_code_api_cli_exits_total", ["cause": "crash"]) == 1)
        #expect(metrics.value("claude_code_api_cli_exits_total", ["cause": "ok"]) == 1)
    }

    @Test("a timed-out turn counts a timeout exit and a 5xx, with no time to first token")
    func timeout() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher { [.hang] }, environment: ["CCA_REQUEST_TIMEOUT_SECONDS": "1"])
        #expect(app.chat().status == 504)
        let (_, metrics) = scrape(app)
        #expect(metrics.value("claude_code_api_cli_exits_total", ["cause": "timeout"]) == 1)
        #expect(metrics.value("claude_code_api_requests_total", ["route": chatRoute, "status_class": "5xx", "model": "gpt-4o"]) == 1)
        #expect(metrics.series("claude_code_api_time_to_first_token_seconds_count").isEmpty)
    }

    @Test("a 429 for full CLI slots is counted by status and reason")
    func capacityRejection() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher { [.hang] },
                                  environment: ["CCA_MAX_CONCURRENT_CLI": "1", "CCA_QUEUE_TIMEOUT_MS": "50", "CCA_REQUEST_TIMEOUT_SECONDS": "2"])
        let busy = Thread { _ = app.chat() }
        busy.start()
        #expect(waitUntil(seconds: 10) { app.application.slots.snapshot.busy == 1 })
        #expect(app.chat().status == 429)
        let (_, during) = scrape(app)
        #expect(during.value("claude_code_api_rejected_requests_total", ["status": "429", "reason": "server_busy"]) == 1)
        #expect(during.value("claude_code_api_cli_slots_busy") == 1)
        #expect(during.value("claude_code_api_cli_slots_max") == 1)
        #expect(waitUntil(seconds: 10) { app.application.slots.snapshot.busy == 0 })
    }

    @Test("the counters the alert rules use are there at zero before anything happened")
    func countersStartAtZero() throws {
        let (_, metrics) = scrape(TestApplication(launcher: ScriptedProcessLauncher { [] }))
        #expect(metrics.value("claude_code_api_rejected_requests_total", ["status": "429", "reason": "server_busy"]) == 0)
        for cause in CLIExitCause.allCases {
            #expect(metrics.value("claude_code_api_cli_exits_total", ["cause": cause.rawValue]) == 0)
        }
        for statusClass in ["2xx", "4xx", "5xx"] {
            #expect(metrics.value("claude_code_api_requests_total", ["route": chatRoute, "status_class": statusClass, "model": ""]) == 0)
        }
    }

    @Test("the time to first token is taken when the first text reaches the encoder, not at the end")
    func timeToFirstToken() throws {
        let launcher = ScriptedProcessLauncher {
            let lines = Fixtures.lines("bare_partial_stream.jsonl")
            // A slow first token (line 5 is the first text delta), then a slow rest of the answer.
            return lines.prefix(5).map { .line($0) } + [.pause(milliseconds: 300), .line(lines[5]), .pause(milliseconds: 300)]
                + lines.dropFirst(6).map { .line($0) }
        }
        let app = TestApplication(launcher: launcher)
        #expect(app.chat(#","stream":true"#).status == 200)
        let (_, metrics) = scrape(app)
        let ttft = try #require(metrics.value("claude_code_api_time_to_first_token_seconds_sum", ["model": "gpt-4o"]))
        let duration = try #require(metrics.value("claude_code_api_request_duration_seconds_sum", ["route": chatRoute]))
        #expect(ttft >= 0.3 && ttft < duration - 0.25, "ttft \(ttft) s, duration \(duration) s")
        #expect(metrics.value("claude_code_api_time_to_first_token_seconds_bucket", ["model": "gpt-4o", "le": "0.25"]) == 0)
        #expect(metrics.value("claude_code_api_time_to_first_token_seconds_bucket", ["model": "gpt-4o", "le": "60.0"]) == 1)
        // The access log line has it too.
        let logged = try #require(app.logLines.all.first { $0.contains(#""path":"/v1/chat/completions""#) })
        let ttftMs = try #require(logged.firstMatch(of: /"ttft_ms":(\d+)/).flatMap { Int($0.1) })
        #expect(ttftMs >= 300)
    }

    @Test("histogram buckets resolve 50 ms to 60 s")
    func buckets() throws {
        let metrics = ServiceMetrics(serviceVersion: "1", models: [])
        metrics.record(RequestOutcome(status: 200), route: "/health", timing: RequestTiming(durationNanoseconds: 70_000_000))
        let text = Exposition(String(decoding: metrics.exposition(.init()), as: UTF8.self))
        let bounds = text.series("claude_code_api_request_duration_seconds_bucket").compactMap { $0.labels["le"] }
        #expect(bounds.first == "0.05" && bounds.contains("60.0") && bounds.last == "+Inf")
        #expect(text.value("claude_code_api_request_duration_seconds_bucket", ["le": "0.05"]) == 0)
        #expect(text.value("claude_code_api_request_duration_seconds_bucket", ["le": "0.1"]) == 1)
    }

    @Test("gauges show the state at the scrape: in flight, queue, slots, CLI processes and memory, availability")
    func gauges() throws {
        let metrics = ServiceMetrics(serviceVersion: "1.2.3", models: [])
        var sample = ServiceMetrics.Sample()
        sample.requestsInFlight = 3
        sample.requestsQueued = 2
        sample.slotsBusy = 4
        sample.slotsMax = 4
        sample.cliProcesses = ProcessGroupUsage(processes: 5, residentBytes: 1_048_576)
        sample.cliAvailable = true
        sample.cliVersion = "2.1.332"
        let text = Exposition(String(decoding: metrics.exposition(sample), as: UTF8.self))
        #expect(text.value("claude_code_api_requests_in_flight") == 3)
        #expect(text.value("claude_code_api_requests_queued") == 2)
        #expect(text.value("claude_code_api_cli_slots_busy") == 4 && text.value("claude_code_api_cli_slots_max") == 4)
        #expect(text.value("claude_code_api_cli_processes") == 5)
        #expect(text.value("claude_code_api_cli_resident_memory_bytes") == 1_048_576)
        #expect(text.value("claude_code_api_cli_available") == 1)
        #expect(text.value("claude_code_api_build_info", ["version": "1.2.3", "cli_version": "2.1.332"]) == 1)
    }

    @Test("build_info follows the CLI's version, one series at a time; the CLI gone reads as unavailable")
    func buildInfoFollowsTheCLI() throws {
        let metrics = ServiceMetrics(serviceVersion: "1", models: [])
        var sample = ServiceMetrics.Sample()
        sample.cliAvailable = true
        sample.cliVersion = "2.1.1"
        _ = metrics.exposition(sample)
        sample.cliVersion = "2.1.2"
        let upgraded = Exposition(String(decoding: metrics.exposition(sample), as: UTF8.self))
        #expect(upgraded.series("claude_code_api_build_info").map { $0.labels["cli_version"] } == ["2.1.2"])
        sample.cliAvailable = false
        sample.cliVersion = nil
        let gone = Exposition(String(decoding: metrics.exposition(sample), as: UTF8.self))
        #expect(gone.series("claude_code_api_build_info").map { $0.labels["cli_version"] } == [""])
        #expect(gone.value("claude_code_api_cli_available") == 0)
    }

    @Test("/metrics is for loopback clients only")
    func operatorOnly() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher { [] })
        #expect(scrape(app, from: "10.1.2.3").0.status == 404)
        #expect(scrape(app, from: "::1").0.status == 200)
    }
}
