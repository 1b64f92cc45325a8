import Foundation

/// JSON for response bodies: compact, slashes unescaped, a trailing newline for curl users.
public struct JSONBodyEncoder: Sendable {
    public init() {}

    public func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"message":"encoding failed","type":"server_error","param":null,"code":null}}"#.utf8)
        return Array(data) + [0x0A]
    }
}
