import Testing
import HTTPCore
@testable import ClaudeCodeAPI

@Suite("The route table: routes registered once; 404, 405 and Allow derived from it")
struct RouterTests {
    let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))

    @Test("a route that answers GET answers HEAD too, and says so in Allow", arguments: ["/v1/models", "/v1/models/gpt-4o", "/health", "/status"])
    func headFollowsGet(_ path: String) {
        #expect(app.send("HEAD", path).status == 200)
        let refused = app.send("POST", path)
        #expect(refused.status == 405)
        #expect(refused.header("Allow") == "GET, HEAD")
        #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "method_not_allowed")
    }

    @Test("the chat route takes POST only, with and without /v1")
    func chatIsPostOnly() {
        for path in ["/v1/chat/completions", "/chat/completions", "/v1/chat/completions/"] {
            let refused = app.send("GET", path)
            #expect(refused.status == 405)
            #expect(refused.header("Allow") == "POST")
        }
    }

    @Test("unknown paths are 404 unknown_url, whatever the method")
    func unknownPaths() {
        for (method, path) in [("GET", "/v2/models"), ("POST", "/v1/chat"), ("DELETE", "/"), ("GET", "/v1/models/a/b")] {
            let response = app.send(method, path)
            #expect(response.status == 404)
            #expect((response.json["error"] as? [String: Any])?["code"] as? String == "unknown_url")
        }
    }

    @Test("path parameters are percent-decoded")
    func parameters() {
        let pattern = PathPattern("/v1/models/{id}")
        #expect(pattern.match("/v1/models/claude%2Dx") == ["id": "claude-x"])
        #expect(pattern.match("/v1/models/") == nil)
        #expect(pattern.match("/v1/models") == nil)
        #expect(pattern.match("/v1/other/x") == nil)
    }

    @Test("operator endpoints answer loopback clients only, with or without a trailing slash",
          arguments: ["/status", "/status/"])
    func operatorOnly(_ path: String) {
        #expect(app.send("GET", path, remoteAddress: "127.0.0.1").status == 200)
        #expect(app.send("GET", path, remoteAddress: "::1").status == 200)
        for outsider in ["10.0.0.5", "203.0.113.7", "::ffff:10.0.0.1", nil] as [String?] {
            let refused = app.send("GET", path, remoteAddress: outsider)
            #expect(refused.status == 404)
            #expect(!refused.text.contains("cli"))
        }
    }
}
