import Foundation

/// An OpenAI message list in the CLI's terms: one system prompt, prior turns for a session transcript,
/// and the new user message for stdin.
public struct CLIConversation: Equatable, Sendable {
    public struct Turn: Equatable, Sendable {
        public enum Role: String, Sendable { case user, assistant }
        public var role: Role
        public var content: [ContentPart]
    }

    /// `system` and `developer` messages, in order, joined by blank lines.
    public var systemPrompt: String?
    /// Prior turns, alternating roles (consecutive messages of one role are merged).
    public var history: [Turn]
    /// The last user message (with any user messages right before it merged in).
    public var prompt: [ContentPart]

    public init(messages: [ChatMessage]) {
        let system = messages.filter { $0.role == .system || $0.role == .developer }.map(\.text)
        systemPrompt = system.isEmpty ? nil : system.joined(separator: "\n\n")
        var turns: [Turn] = []
        for message in messages {
            let role: Turn.Role
            switch message.role {
            case .user: role = .user
            case .assistant: role = .assistant
            default: continue
            }
            // Empty text blocks are rejected upstream; an empty assistant message carries nothing.
            let content = message.content.filter { if case .text(let t) = $0 { !t.isEmpty } else { true } }
            guard !content.isEmpty || role == .user else { continue }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].content += content
            } else {
                turns.append(Turn(role: role, content: content))
            }
        }
        let last = turns.popLast()
        prompt = last?.content ?? []
        history = turns
    }

    /// The stdin line that starts the turn: `{"type":"user","message":{...}}` and a newline. The client's text is
    /// sent as text, never as a CLI command (see `literalPrompt`).
    public func stdinLine() -> [UInt8] {
        let line: [String: Any] = ["type": "user", "message": ["role": "user", "content": Self.blocks(Self.literal(prompt))]]
        return Self.jsonLine(line)
    }

    /// The CLI reads a new user turn whose last block is text starting with `/` as a slash command or skill (`/model`,
    /// `/context`, `/compact`...), even with `--disable-slash-commands`, and then sends nothing (or a skill's prompt)
    /// upstream. A `/` block followed by another text block is sent verbatim, so such a text is split after its leading
    /// slashes: `"/model x"` becomes `["/", "model x"]`, whose concatenation is the client's text byte for byte.
    /// Text of slashes only (`"/"`, `"///"`) is not a command and stays whole. Prior turns in the transcript are not
    /// parsed as commands (measured), so they are sent as they are.
    static func literal(_ parts: [ContentPart]) -> [ContentPart] {
        guard case .text(let text)? = parts.last, text.hasPrefix("/") else { return parts }
        let slashes = text.prefix { $0 == "/" }
        guard slashes.endIndex < text.endIndex else { return parts }
        return parts.dropLast() + [.text(String(slashes)), .text(String(text[slashes.endIndex...]))]
    }

    /// The session transcript holding `history`, for `--resume`: one JSON line per prior message, each pointing to the one
    /// before by `parentUuid`. The CLI sends them upstream as real alternating messages and leaves the file unchanged.
    public func transcript(sessionID: String) -> [UInt8] {
        var lines: [UInt8] = []
        var parent: String?
        for turn in history {
            let uuid = UUID().uuidString.lowercased()
            let line: [String: Any] = [
                "type": turn.role.rawValue, "uuid": uuid, "parentUuid": parent ?? NSNull(), "sessionId": sessionID,
                "message": ["role": turn.role.rawValue, "content": Self.blocks(turn.content)],
            ]
            lines += Self.jsonLine(line)
            parent = uuid
        }
        return lines
    }

    static func blocks(_ parts: [ContentPart]) -> [[String: Any]] {
        let blocks: [[String: Any]] = parts.map { part in
            switch part {
            case .text(let text):
                return ["type": "text", "text": text]
            case .image(let mediaType, let data):
                return ["type": "image", "source": ["type": "base64", "media_type": mediaType, "data": data]]
            }
        }
        // The CLI turns an empty message into "(no content)"; say it plainly instead.
        return blocks.isEmpty ? [["type": "text", "text": " "]] : blocks
    }

    private static func jsonLine(_ object: [String: Any]) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data) + [UInt8(ascii: "\n")]
    }
}
