import Foundation
import HTTPCore
import Synchronization
import Testing
@testable import ClaudeCodeAPI

/// The whole application in-process with a key file: who gets in, what 401 and 429 look like, reload, per-key limits.
@Suite("API keys through the application: every route but /health needs one")
struct APIKeyAuthenticationTests {
    static let aliceKey = "sk-cca-alice-0123456789abcdef"
    static let bobKey = "sk-cca-bob-fedcba9876543210"
    let clock = ManualClock()

    /// An application with `lines` as its key file; the file is removed when `body` returns.
    func withKeys(_ lines: [String], environment: [String: String] = [:], launcher: any ProcessLauncher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"),
                  clock: (any MonotonicClock)? = nil, _ body: (TestApplication, KeyFile) throws -> Void) throws {
        let file = try KeyFile(lines.joined(separator: "\n") + "\n")
        defer { file.remove() }
        var env = environment
        env["CCA_API_KEYS_FILE"] = file.path
        try body(TestApplication(launcher: launcher, environment: env, clock: clock ?? self.clock), file)
    }

    var standardKeys: [String] { [KeyFile.line("alice", Self.aliceKey), KeyFile.line("bob", Self.bobKey)] }

    func error(_ response: RecordingResponseWriter) -> [String: Any] { response.json["error"] as? [String: Any] ?? [:] }

    func chatBody(_ extra: String = "") -> String { #"{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]\#(extra)}"# }

    @Test("without a key: 401 invalid_api_key, type invalid_request_error, WWW-Authenticate: Bearer, on every route and alias",
          arguments: [("GET", "/v1/models"), ("GET", "/models"), ("GET", "/v1/models/gpt-4o"), ("GET", "/models/gpt-4o"),
                      ("HEAD", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/chat/completions")])
    func keyRequired(_ method: String, _ path: String) throws {
        try withKeys(standardKeys) { app, _ in
            let response = app.send(method, path, body: method == "POST" ? chatBody() : "")
            #expect(response.status == 401)
            #expect(response.header("WWW-Authenticate") == "Bearer")
            let error = error(response)
            #expect(error["code"] as? String == "invalid_api_key")
            #expect(error["type"] as? String == "invalid_request_error")
            #expect((error["message"] as? String)?.contains("didn't provide an API key") == true)
        }
    }

    @Test("/health needs no key, and /status stays loopback-only without one")
    func openRoutes() throws {
        try withKeys(standardKeys) { app, _ in
            #expect(app.send("GET", "/health").status == 200)
            #expect(app.send("GET", "/status").status == 200)
            #expect(app.send("GET", "/status", remoteAddress: "203.0.113.5").status == 404)
        }
    }

    @Test("Bearer and x-api-key both let a key in; the access log names the key and never shows the key or its digest")
    func keyAccepted() throws {
        try withKeys(standardKeys) { app, _ in
            let chat = app.send("POST", "/v1/chat/completions", body: chatBody(), headers: ["authorization": "Bearer \(Self.aliceKey)"])
            #expect(chat.status == 200)
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.bobKey]).status == 200)
            let requests = app.logLines.all.filter { $0.contains(#""msg":"request""#) }
            #expect(requests.count == 2)
            #expect(requests[0].contains(#""key":"alice""#) && requests[1].contains(#""key":"bob""#))
            for line in app.logLines.all {
                for secret in [Self.aliceKey, Self.bobKey, APIKeyDigest(of: Self.aliceKey).hex, APIKeyDigest(of: Self.bobKey).hex] {
                    #expect(!line.contains(secret))
                }
            }
        }
    }

    @Test("a wrong key is 401 whose body echoes neither the key nor its digest")
    func wrongKey() throws {
        try withKeys(standardKeys) { app, _ in
            let wrong = "sk-cca-alice-0123456789abcdeX"
            let response = app.send("GET", "/v1/models", headers: ["authorization": "Bearer \(wrong)"])
            #expect(response.status == 401)
            #expect((error(response)["message"] as? String)?.contains("Incorrect API key") == true)
            #expect(!response.text.contains(wrong) && !response.text.contains(APIKeyDigest(of: wrong).hex))
            #expect(!app.logLines.all.contains { $0.contains(wrong) })
        }
    }

    @Test("ten failed attempts from one address, then 429 there even with the right key; other addresses are unaffected")
    func failedAttemptsLimited() throws {
        try withKeys(standardKeys) { app, _ in
            for attempt in 0..<10 {
                #expect(app.send("GET", "/v1/models", headers: ["x-api-key": "guess-\(attempt)"], remoteAddress: "198.51.100.7").status == 401)
            }
            let blocked = app.send("GET", "/v1/models", headers: ["x-api-key": Self.aliceKey], remoteAddress: "198.51.100.7")
            #expect(blocked.status == 429)
            #expect(error(blocked)["code"] as? String == "too_many_failed_authentications")
            #expect(error(blocked)["type"] as? String == "rate_limit_error")
            #expect(blocked.header("Retry-After") == "6")
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.aliceKey], remoteAddress: "198.51.100.8").status == 200)
            clock.advance(seconds: 6)
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.aliceKey], remoteAddress: "198.51.100.7").status == 200)
        }
    }

    @Test("reload: an added key works at once and a revoked one is refused")
    func reloadAddsAndRevokes() throws {
        try withKeys([KeyFile.line("alice", Self.aliceKey)]) { app, file in
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.bobKey]).status == 401)
            try file.write(KeyFile.line("bob", Self.bobKey) + "\n")
            app.application.reloadKeys()
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.bobKey]).status == 200)
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.aliceKey]).status == 401)
            #expect(app.logLines.all.contains { $0.contains("API keys reloaded") && $0.contains(#""keys":1"#) })
        }
    }

    @Test("reload of a file that does not parse keeps the old keys and logs why, without the line's text")
    func brokenReloadKeepsKeys() throws {
        try withKeys([KeyFile.line("alice", Self.aliceKey)]) { app, file in
            try file.write(KeyFile.line("alice", Self.aliceKey) + "\n" + "bob \(APIKeyDigest(of: Self.bobKey).hex) rpm=lots\n")
            app.application.reloadKeys()
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.aliceKey]).status == 200)
            #expect(app.send("GET", "/v1/models", headers: ["x-api-key": Self.bobKey]).status == 401)
            let line = try #require(app.logLines.all.first { $0.contains("API keys not reloaded") })
            #expect(line.contains("line 2") && line.contains(#""level":"error""#))
            #expect(!line.contains(APIKeyDigest(of: Self.bobKey).hex))
        }
    }

    @Test("without a key file the service is open and the access log has no key field")
    func keysOff() {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        #expect(app.send("GET", "/v1/models").status == 200)
        #expect(app.chat().status == 200)
        #expect(!app.logLines.all.contains { $0.contains(#""key":"#) })
    }

    @Test("max_concurrent: one turn over it is 429 per_key_concurrency at once, while another key is served")
    func perKeyConcurrency() throws {
        let launches = Counter()
        let launcher = ScriptedProcessLauncher {
            launches.increment()
            return launches.value == 1 ? [.hang] : Fixtures.lines("bare_partial_stream.jsonl").map { .line($0) }
        }
        try withKeys([KeyFile.line("alice", Self.aliceKey, "max_concurrent=1"), KeyFile.line("bob", Self.bobKey, "max_concurrent=1")],
                     environment: ["CCA_MAX_CONCURRENT_CLI": "4", "CCA_REQUEST_TIMEOUT_SECONDS": "30"], launcher: launcher,
                     clock: SystemClock()) { app, _ in
            let alice = ["authorization": "Bearer \(Self.aliceKey)"]
            let finished = Counter()
            let running = Thread {
                app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice)
                finished.increment()
            }
            running.start()
            #expect(waitUntil(seconds: 10) { app.application.keyLimits.inFlight("alice") == 1 && launches.value == 1 })
            let started = Date()
            let refused = app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice)
            #expect(refused.status == 429)
            #expect(error(refused)["code"] as? String == "per_key_concurrency")
            #expect(refused.header("Retry-After") == "1")
            #expect(Date().timeIntervalSince(started) < 10)  // refused at once, not after alice's turn (30 s deadline)
            #expect(app.send("POST", "/v1/chat/completions", body: chatBody(), headers: ["x-api-key": Self.bobKey]).status == 200)
            app.application.cancelInFlight()
            #expect(waitUntil(seconds: 10) { finished.value == 1 })
            #expect(app.application.keyLimits.inFlight("alice") == 0)
        }
    }

    @Test("a key's place is free once its answer is complete, while the CLI is still exiting")
    func placeFreedAtResponseEnd() throws {
        let launches = Counter()
        let launcher = ScriptedProcessLauncher {
            launches.increment()
            // The first CLI answers, then lingers (the service waits up to 1 s for it to exit by itself).
            return Fixtures.lines("bare_partial_stream.jsonl").map { .line($0) } + (launches.value == 1 ? [.hang] : [])
        }
        try withKeys([KeyFile.line("alice", Self.aliceKey, "max_concurrent=1")], launcher: launcher, clock: SystemClock()) { app, _ in
            let alice = ["x-api-key": Self.aliceKey]
            let first = EndSignallingResponseWriter()
            let finished = Counter()
            let body = chatBody()
            let running = Thread {
                app.application.handle(HTTPRequest(method: .post, path: "/v1/chat/completions", headers: alice, contentLength: body.utf8.count,
                                                   requestID: "first", remoteAddress: "127.0.0.1"),
                                       body: BufferedBody(body), writer: first)
                finished.increment()
            }
            running.start()
            #expect(waitUntil(seconds: 10) { first.hasEnded })
            // Without the early release this is 429 per_key_concurrency: the first turn's CLI has not exited yet.
            #expect(app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice).status == 200)
            #expect(waitUntil(seconds: 10) { finished.value == 1 })
            #expect(first.status == 200)
        }
    }

    @Test("rpm: over it, 429 rate_limit_exceeded with Retry-After and x-ratelimit-*; successes carry x-ratelimit-* too")
    func perKeyRate() throws {
        try withKeys([KeyFile.line("alice", Self.aliceKey, "rpm=2"), KeyFile.line("bob", Self.bobKey)]) { app, _ in
            let alice = ["authorization": "Bearer \(Self.aliceKey)"]
            let first = app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice)
            #expect(first.status == 200)
            #expect(first.header("x-ratelimit-limit-requests") == "2")
            #expect(first.header("x-ratelimit-remaining-requests") == "1")
            #expect(first.header("x-ratelimit-reset-requests") == "30s")
            let streamed = app.send("POST", "/v1/chat/completions", body: chatBody(#","stream":true"#), headers: alice)
            #expect(streamed.status == 200 && streamed.events.last == "[DONE]")
            #expect(streamed.header("x-ratelimit-remaining-requests") == "0")
            let refused = app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice)
            #expect(refused.status == 429)
            #expect(error(refused)["code"] as? String == "rate_limit_exceeded")
            #expect(error(refused)["type"] as? String == "rate_limit_error")
            #expect(refused.header("Retry-After") == "30")
            #expect(refused.header("x-ratelimit-remaining-requests") == "0")
            #expect(refused.header("x-ratelimit-reset-requests") == "1m0s")
            // The limit counts model turns only, and is the key's alone.
            #expect(app.send("GET", "/v1/models", headers: alice).status == 200)
            #expect(app.send("POST", "/v1/chat/completions", body: chatBody(), headers: ["x-api-key": Self.bobKey]).status == 200)
            clock.advance(seconds: 30)
            #expect(app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice).status == 200)
        }
    }

    @Test("a turn refused for want of a CLI slot (429 server_busy) gives the key's request token back")
    func busyServiceRefundsToken() throws {
        let launches = Counter()
        let launcher = ScriptedProcessLauncher {
            launches.increment()
            return launches.value == 1 ? [.hang] : Fixtures.lines("bare_partial_stream.jsonl").map { .line($0) }
        }
        try withKeys([KeyFile.line("alice", Self.aliceKey, "rpm=1"), KeyFile.line("bob", Self.bobKey)],
                     environment: ["CCA_MAX_CONCURRENT_CLI": "1", "CCA_QUEUE_TIMEOUT_MS": "50", "CCA_REQUEST_TIMEOUT_SECONDS": "2"],
                     launcher: launcher, clock: SystemClock()) { app, _ in
            let finished = Counter()
            let busy = Thread {
                app.send("POST", "/v1/chat/completions", body: chatBody(), headers: ["x-api-key": Self.bobKey])
                finished.increment()
            }
            busy.start()
            #expect(waitUntil(seconds: 10) { app.application.slots.snapshot.busy == 1 })
            let alice = ["x-api-key": Self.aliceKey]
            let refused = app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice)
            #expect(refused.status == 429 && error(refused)["code"] as? String == "server_busy")
            // The hanging turn ends at its 2 s deadline (cancelInFlight would end later turns too).
            #expect(waitUntil(seconds: 10) { finished.value == 1 && app.application.slots.snapshot.busy == 0 })
            #expect(app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice).status == 200)
        }
    }

    @Test("a request refused before its turn (bad body) spends none of the key's rpm")
    func invalidRequestsAreFree() throws {
        try withKeys([KeyFile.line("alice", Self.aliceKey, "rpm=1")]) { app, _ in
            let alice = ["x-api-key": Self.aliceKey]
            for _ in 0..<3 { #expect(app.send("POST", "/v1/chat/completions", body: "{", headers: alice).status == 400) }
            #expect(app.send("POST", "/v1/chat/completions", body: chatBody(), headers: alice).status == 200)
        }
    }
}

/// A recording writer that tells another thread when the response has ended.
final class EndSignallingResponseWriter: ResponseWriter, @unchecked Sendable {
    private let base = RecordingResponseWriter()
    private let endSignal = Mutex(false)
    var hasEnded: Bool { endSignal.withLock { $0 } }
    var status: Int? { base.status }
    func writeHead(status: Int, headers: [HTTPHeader]) throws(ClientDisconnected) { try base.writeHead(status: status, headers: headers) }
    func write(_ bytes: [UInt8]) throws(ClientDisconnected) { try base.write(bytes) }
    func flush() throws(ClientDisconnected) { try base.flush() }
    func end() {
        base.end()
        endSignal.withLock { $0 = true }
    }
    var disconnectDescriptor: Int32? { base.disconnectDescriptor }
    var writeDeadline: UInt64?
}
