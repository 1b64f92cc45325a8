import FoundationEssentials

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
            case .user, .tool, .function: role = .user  // tool results travel in user turns
            case .assistant: role = .assistant
            case .system, .developer: continue
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
        Self.jsonLine(["type": "user", "message": ["role": "user", "content": .array(Self.blocks(Self.literal(prompt)))]])
    }

    /// Whether the conversation holds tool calls or results. Those are written to the CLI line by line (see
    /// `handshakeLines`): a transcript ending in a tool result, or a new line after one, makes the CLI add text.
    public var hasToolBlocks: Bool {
        (history.flatMap(\.content) + prompt).contains { part in
            switch part {
            case .toolUse, .toolResult: true
            case .text, .image: false
            }
        }
    }

    /// One line of the prior-turns handshake.
    public enum HandshakeLine: Equatable, Sendable {
        /// A prior user turn, written with `shouldQuery: false`: the CLI records it, asks nothing upstream, and
        /// prints a result (`num_turns: 0`) that must be waited for before the next line.
        case priorUser([UInt8])
        /// A prior assistant turn, recorded as it is.
        case priorAssistant([UInt8])
        /// The new user turn, which starts the model turn.
        case prompt([UInt8])
    }

    /// The whole conversation as stdin lines, one turn at a time: history with tool_use and tool_result blocks
    /// reaches upstream exactly as given, with nothing inserted (measured with 2.1.332; pinned by the tool tests).
    /// Every user line goes through `literal`, so no turn's text can become a CLI command.
    public func handshakeLines() -> [HandshakeLine] {
        identifiedHandshake(userLineIDs: false).lines
    }

    /// The handshake lines, and the `uuid` given to each user line (oldest first) when `userLineIDs` is set: a pooled
    /// CLI is reset after the turn by rewinding to those lines, newest first.
    public func identifiedHandshake(userLineIDs: Bool = true) -> (lines: [HandshakeLine], userLineIDs: [String]) {
        var ids: [String] = []
        func userLine(_ content: [ContentPart], shouldQuery: Bool) -> [UInt8] {
            var line: [String: JSONValue] = ["type": "user", "message": ["role": "user", "content": .array(Self.blocks(Self.literal(content)))]]
            if !shouldQuery { line["shouldQuery"] = false }
            if userLineIDs {
                let id = UUID().uuidString.lowercased()
                ids.append(id)
                line["uuid"] = .string(id)
            }
            return Self.jsonLine(line)
        }
        var lines: [HandshakeLine] = history.map { turn in
            switch turn.role {
            case .user:
                .priorUser(userLine(turn.content, shouldQuery: false))
            case .assistant:
                .priorAssistant(Self.jsonLine(["type": "assistant", "message": ["role": "assistant", "content": .array(Self.blocks(turn.content))]]))
            }
        }
        lines.append(.prompt(userLine(prompt, shouldQuery: true)))
        return (lines, ids)
    }

    /// Whether the handshake sends upstream exactly what the `--resume` transcript of a cold CLI sends. Tool blocks
    /// take the handshake path either way; a prior user turn whose text `literal` splits (it starts with `/`) would
    /// reach upstream as two blocks on the handshake path and as one from the transcript, so it is not.
    public var handshakeMatchesTranscript: Bool {
        !hasToolBlocks && history.allSatisfy { turn in turn.role == .assistant || Self.literal(turn.content) == turn.content }
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
            let line: [String: JSONValue] = [
                "type": .string(turn.role.rawValue), "uuid": .string(uuid), "parentUuid": parent.map(JSONValue.string) ?? .null,
                "sessionId": .string(sessionID), "message": ["role": .string(turn.role.rawValue), "content": .array(Self.blocks(turn.content))],
            ]
            lines += Self.jsonLine(line)
            parent = uuid
        }
        return lines
    }

    static func blocks(_ parts: [ContentPart]) -> [JSONValue] {
        let blocks: [JSONValue] = parts.map { part in
            switch part {
            case .text(let text):
                return ["type": "text", "text": .string(text)]
            case .image(let mediaType, let data):
                return ["type": "image", "source": ["type": "base64", "media_type": .string(mediaType), "data": .string(data)]]
            case .toolUse(let id, let name, let input):
                return ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
            case .toolResult(let id, let content, let isError):
                var block: [String: JSONValue] = ["type": "tool_result", "tool_use_id": .string(id), "content": content]
                if isError { block["is_error"] = true }
                return .object(block)
            }
        }
        // The CLI turns an empty message into "(no content)"; say it plainly instead.
        return blocks.isEmpty ? [["type": "text", "text": " "]] : blocks
    }

    /// One line of JSON and its newline; keys unsorted (nothing reads their order, and sorting costs per line).
    private static func jsonLine(_ object: [String: JSONValue]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(JSONValue.object(object))) ?? Data("{}".utf8)
        return Array(data) + [UInt8(ascii: "\n")]
    }
}
