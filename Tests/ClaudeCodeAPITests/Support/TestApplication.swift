import Foundation
@testable import ClaudeCodeAPI

/// The whole application in-process, with a scripted CLI and a recording writer.
struct TestApplication {
    let application: APIApplication
    let launcher: any ProcessLauncher
    let logLines = LogLines()

    init(launcher: any ProcessLauncher, environment: [String: String] = [:]) {
        var env = ["CCA_CLAUDE_PATH": "/bin/true", "ANTHROPIC_API_KEY": "test-key", "CCA_MAX_CONCURRENT_CLI": "2"]
        env.merge(environment) { $1 }
        let configuration = try! Configuration.fromEnvironment(env)
        let lines = logLines
        self.launcher = launcher
        application = try! APIApplication(configuration: configuration, launcher: launcher,
                                     logger: Logger(level: .debug, sink: { lines.append($0) }))
    }

    @discardableResult
    func send(_ method: String, _ path: String, body: String = "", writer: RecordingResponseWriter = RecordingResponseWriter()) -> RecordingResponseWriter {
        var reader = BufferedBody(body)
        application.handle(HTTPRequest(method: method, path: path, contentLength: body.utf8.count, requestID: "test"),
                           body: &reader, writer: writer)
        return writer
    }

    func chat(_ extra: String = "", content: String = "hello", writer: RecordingResponseWriter = RecordingResponseWriter()) -> RecordingResponseWriter {
        send("POST", "/v1/chat/completions",
             body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"\#(content)"}]\#(extra)}"#, writer: writer)
    }
}

final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
