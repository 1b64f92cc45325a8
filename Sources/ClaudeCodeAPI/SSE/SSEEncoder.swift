import Foundation

/// Server-sent events as OpenAI streams them: `data: <json>\n\n`, comments for keep-alive, `data: [DONE]` last.
public struct SSEEncoder: Sendable {
    private let encoder: JSONEncoder

    public init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    public func event(_ value: some Encodable) -> [UInt8] {
        let json = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var bytes = Array("data: ".utf8)
        bytes.reserveCapacity(json.count + 8)
        bytes += json
        bytes += [0x0A, 0x0A]
        return bytes
    }

    public static let done = Array("data: [DONE]\n\n".utf8)

    /// A comment line: ignored by clients, keeps proxies from timing the stream out.
    public static let keepAlive = Array(": ping\n\n".utf8)
}
