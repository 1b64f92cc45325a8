import FoundationEssentials
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

    /// One JSON object, keys in order: written by hand, since JSONSerialization sorts keys through a locale, and a
    /// locale loads ICU and its data.
    public func log(_ level: LogLevel, _ message: String, _ fields: [String: LogValue] = [:]) {
        guard level >= self.level else { return }
        var object: [String: LogValue] = ["ts": .string(Self.timestamp()), "level": .string(level.rawValue), "msg": .string(message)]
        object.merge(fields) { _, field in field }
        var line: [UInt8] = [UInt8(ascii: "{")]
        for (index, (key, value)) in object.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            JSONStringLiteral.append(key, to: &line)
            line.append(UInt8(ascii: ":"))
            value.appendJSON(to: &line)
        }
        line += [UInt8(ascii: "}"), UInt8(ascii: "\n")]
        sink(String(decoding: line, as: UTF8.self))
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

    func appendJSON(to bytes: inout [UInt8]) {
        switch self {
        case .string(let s): JSONStringLiteral.append(s, to: &bytes)
        case .int(let i): bytes += String(i).utf8
        case .bool(let b): bytes += (b ? "true" : "false").utf8
        }
    }
}
