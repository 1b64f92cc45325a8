import Foundation
import Synchronization
import Testing
@testable import ClaudeCodeAPI

@Suite("Log lines")
struct LoggerTests {
    static func line(_ level: LogLevel = .info, _ message: String, _ fields: [String: LogValue] = [:]) -> String? {
        let lines = Mutex<[String]>([])
        Logger(level: .info, sink: { line in lines.withLock { $0.append(line) } }).log(level, message, fields)
        return lines.withLock { $0.first }
    }

    @Test("a line is one JSON object with sorted keys, the timestamp, the level and the message, and ends with a newline")
    func lineIsOneJSONObject() throws {
        let line = try #require(Self.line(.warning, "quote \" backslash \\ newline \n tab \t nul \u{0} é 😀 /", [
            "request_id": "abc", "lines": 3, "client_disconnected": .bool(true), "z": "\u{1F}",
        ]))
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == "quote \" backslash \\ newline \n tab \t nul \u{0} é 😀 /")
        #expect(object["level"] as? String == "warning")
        #expect(object["request_id"] as? String == "abc")
        #expect(object["lines"] as? Int == 3)
        #expect(object["client_disconnected"] as? Bool == true)
        #expect(object["z"] as? String == "\u{1F}")
        let timestamp = try #require(object["ts"] as? String)
        #expect((try? /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/.wholeMatch(in: timestamp)) != nil)
        let keys = ["client_disconnected", "level", "lines", "msg", "request_id", "ts", "z"]
        let positions = keys.map { line.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test("lines below the logger's level are not written")
    func levelFilters() {
        #expect(Self.line(.debug, "hidden") == nil)
        #expect(Self.line(.error, "shown") != nil)
    }
}
