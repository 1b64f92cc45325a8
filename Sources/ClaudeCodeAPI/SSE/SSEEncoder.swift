import HTTPCore

/// Server-sent events framing: `data: <json>\n\n`, comment lines for keep-alive, OpenAI's `data: [DONE]` terminator.
public enum SSEEncoder {
    public static func data(_ json: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(json.count + 8)
        bytes += dataPrefix
        bytes += json
        bytes += [0x0A, 0x0A]
        return bytes
    }

    private static let dataPrefix = Array("data: ".utf8)

    /// A named event, as Anthropic's API streams them: `event: <name>\ndata: <json>\n\n`.
    public static func event(_ name: String, _ json: [UInt8]) -> [UInt8] {
        Array("event: \(name)\n".utf8) + data(json)
    }

    public static let done = Array("data: [DONE]\n\n".utf8)

    /// The head of every event stream: no caching, and no buffering in nginx (each event goes out as it is flushed).
    public static let responseHeaders = [
        HTTPHeader("Content-Type", "text/event-stream; charset=utf-8"),
        HTTPHeader("Cache-Control", "no-cache"),
        HTTPHeader("X-Accel-Buffering", "no"),
    ]

    /// A comment line: ignored by clients, keeps proxies from timing the stream out.
    public static let keepAlive = Array(": ping\n\n".utf8)
}
