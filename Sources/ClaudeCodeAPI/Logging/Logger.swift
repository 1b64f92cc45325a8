import Foundation
import SystemCalls

/// JSON lines on stderr, one `write(2)` each. Fields carry metadata only: never message content or credentials.
public struct Logger: Sendable {
    public let level: LogLevel
    private let sink: @Sendable (String) -> Void

    public init(level: LogLevel, sink: @escaping @Sendable (String) -> Void = Logger.standardError) {
        self.level = level
        self.sink = sink
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        try? Syscalls.writeAll(2, Array(line.utf8))
    }

    public func log(_ level: LogLevel, _ message: String, _ fields: [String: LogValue] = [:]) {
        guard level >= self.level else { return }
        var object: [String: Any] = ["ts": Self.timestamp(), "level": level.rawValue, "msg": message]
        for (key, value) in fields { object[key] = value.jsonObject }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
              let text = String(data: data, encoding: .utf8) else { return }
        sink(text + "\n")
    }

    public func debug(_ message: String, _ fields: [String: LogValue] = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: [String: LogValue] = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: [String: LogValue] = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: [String: LogValue] = [:]) { log(.error, message, fields) }

    private static func timestamp() -> String {
        UTCTimestamp.iso8601(Date(), includingMilliseconds: true)
    }
}

public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }

    var jsonObject: Any {
        switch self {
        case .string(let s): s
        case .int(let i): i
        case .bool(let b): b
        }
    }
}
