import Foundation
import HTTPCore
@testable import ClaudeCodeAPI

/// The whole application in-process, with a scripted CLI and the in-memory transport.
struct TestApplication {
    let application: APIApplication
    let launcher: any ProcessLauncher
    let logLines = LogLines()

    init(launcher: any ProcessLauncher, environment: [String: String] = [:], clock: any MonotonicClock = SystemClock(),
         freeSpace: @escaping ScratchDirectory.FreeSpaceProbe = ScratchDirectory.systemFreeSpace) {
        var env = ["CCA_CLAUDE_PATH": "/bin/true", "ANTHROPIC_API_KEY": "test-key", "CCA_MAX_CONCURRENT_CLI": "2", "CCA_POOL_SIZE": "0"]
        env.merge(environment) { $1 }
        let configuration = try! Configuration.fromEnvironment(env)
        let lines = logLines
        self.launcher = launcher
        application = try! APIApplication(configuration: configuration, launcher: launcher, clock: clock,
                                          logger: Logger(level: .debug, sink: { lines.append($0) }), freeSpace: freeSpace)
    }

    /// One request as nginx would pass it: from a loopback client unless told otherwise.
    @discardableResult
    func send(_ method: String, _ path: String, query: String = "", body: String = "", headers: [String: String] = [:],
              remoteAddress: String? = "127.0.0.1", writer: RecordingResponseWriter = RecordingResponseWriter()) -> RecordingResponseWriter {
        application.handle(HTTPRequest(method: HTTPMethod(method), path: path, query: query, headers: headers, contentLength: body.utf8.count,
                                       requestID: "test", remoteAddress: remoteAddress),
                           body: BufferedBody(body), writer: writer)
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
