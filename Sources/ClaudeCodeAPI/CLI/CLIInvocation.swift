import FoundationEssentials

/// One CLI launch, decided in full before anything starts: the process, its stdin, and the files it needs.
public struct CLIInvocation: Sendable {
    public var process: ProcessSpec
    /// What the CLI is given on stdin: one line, or the conversation turn by turn (see `CLIConversation.handshakeLines`).
    public enum Input: Sendable, Equatable {
        case line([UInt8])
        case handshake([CLIConversation.HandshakeLine])
    }
    public var input: Input
    /// The turn's client tools: when any are declared, the CLI reaches them through the in-process MCP server over
    /// its control channel, so stdin stays open until the turn ends.
    public var tools: [ClientTool]
    /// A file the CLI reads, written into the scratch folder before launch.
    public struct InputFile: Sendable, Equatable {
        public var path: String
        public var contents: [UInt8]
    }

    /// The system prompt (`--system-prompt-file`).
    public var systemPrompt: InputFile
    /// The session transcript of prior turns (`--resume`), when there are any.
    public var transcript: InputFile?
    /// The CLI's own state file in the private HOME (`.claude.json`), as a CLI that has run before leaves it.
    public var cliState: InputFile
    /// Everything to write before launch.
    public var files: [InputFile] { [systemPrompt, cliState] + (transcript.map { [$0] } ?? []) }

    /// What `.claude.json` holds after a CLI's first run, less its random ids: the migrations it has done. In an empty
    /// HOME the CLI runs them and writes a backup first, ~25 ms and ~5% of a turn's CPU (measured with 2.1.332: 272 ms
    /// to the first token with an empty HOME, 247 seeded, 251 with a HOME kept from run to run); upstream gets the
    /// same request either way (the device id in `metadata` is random per HOME regardless). Nothing of any request or
    /// client is in it. A CLI with newer migrations runs just those.
    public static let firstRunState = Array(#"{"firstStartTime":"2026-01-01T00:00:00.000Z","firstStartVersion":"2.1.332","hasResetAutoModeOptInForDefaultOffer":true,"migrationVersion":15,"opusProMigrationComplete":true}"#.utf8)

    /// Settings of one request that shape the launch.
    public struct Request: Sendable {
        public var conversation: CLIConversation
        public var cliModel: String
        public var maxTokens: Int?
        /// Extended thinking budget; nil turns thinking off.
        public var thinkingBudget: Int?
        public var sessionID: String
        /// Client tools and the answer's format.
        public var tools: TurnTools

        public init(conversation: CLIConversation, cliModel: String, maxTokens: Int?, thinkingBudget: Int? = nil,
                    sessionID: String = UUID().uuidString.lowercased(), tools: TurnTools = .none) {
            self.conversation = conversation
            self.cliModel = cliModel
            self.maxTokens = maxTokens
            self.thinkingBudget = thinkingBudget
            self.sessionID = sessionID
            self.tools = tools
        }
    }

    /// Builds the launch of a pure chat turn: no agent tools, no local context, no saved session, in `scratchDirectory`.
    /// Nothing from the request reaches argv except the model name (already checked against the catalog): the system
    /// prompt goes through a file, the conversation through stdin and the transcript file.
    public init(request: Request, configuration: Configuration, executable: String, scratchDirectory: String) {
        var arguments = [
            "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
            "--input-format", "stream-json", "--bare", "--tools", "", "--no-session-persistence",
            // Defence in depth: no slash commands, no MCP configuration but the service's own.
            "--disable-slash-commands", "--strict-mcp-config",
            "--model", request.cliModel,
            "--system-prompt-file", "\(scratchDirectory)/system-prompt.txt",
        ]
        var prompt = request.conversation.systemPrompt ?? ""
        if let instruction = request.tools.systemInstruction {
            prompt += prompt.isEmpty ? instruction : "\n\n" + instruction
        }
        systemPrompt = InputFile(path: "\(scratchDirectory)/system-prompt.txt", contents: Array(prompt.utf8))
        tools = request.tools.declared
        if !tools.isEmpty {
            // The client's tools, under their own names, through an MCP server the responder serves itself; every call
            // asks permission on the control channel (and is never granted: the turn ends at the call).
            arguments += ["--mcp-config", ToolBridge.mcpConfiguration, "--permission-prompt-tool", "stdio"]
        }
        // Each turn has a HOME of its own: no transcript, setting or credential file of one client is seen by another.
        let home = scratchDirectory
        cliState = InputFile(path: "\(home)/.claude.json", contents: Self.firstRunState)
        if request.conversation.hasToolBlocks {
            transcript = nil
        } else if !request.conversation.history.isEmpty {
            arguments += ["--resume", request.sessionID]
            let projects = "\(home)/.claude/projects/\(Self.projectFolderName(forWorkingDirectory: scratchDirectory))"
            transcript = InputFile(path: "\(projects)/\(request.sessionID).jsonl",
                                   contents: request.conversation.transcript(sessionID: request.sessionID))
        } else {
            transcript = nil
        }

        var environment = configuration.cliEnvironment
        environment["HOME"] = home
        environment["TMPDIR"] = scratchDirectory
        environment["DISABLE_TELEMETRY"] = "1"
        environment["DISABLE_AUTOUPDATER"] = "1"
        environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
        // No @file mentions or other attachments read from disk into the prompt.
        environment["CLAUDE_CODE_DISABLE_ATTACHMENTS"] = "1"
        environment["DISABLE_ERROR_REPORTING"] = "1"
        environment["CLAUDE_CODE_MAX_RETRIES"] = String(configuration.maxRetries)
        // Off unless asked for: the CLI's own default budget breaks small max_tokens.
        environment["MAX_THINKING_TOKENS"] = String(request.thinkingBudget ?? 0)
        if let maxTokens = request.maxTokens {
            environment["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = String(maxTokens)
        }
        if !tools.isEmpty {
            environment["CLAUDE_AGENT_SDK_MCP_NO_PREFIX"] = "1"  // the model sees `get_weather`, not `mcp__client__get_weather`
        }

        process = ProcessSpec(executable: executable, arguments: arguments, environment: environment, workingDirectory: scratchDirectory)
        input = request.conversation.hasToolBlocks ? .handshake(request.conversation.handshakeLines()) : .line(request.conversation.stdinLine())
    }

    /// The launch of a pre-started CLI for the warm pool: the flags, files and environment of a cold chat turn without
    /// client tools, history, output limit, thinking or system prompt, in its own scratch folder (HOME and cwd). What a
    /// request changes is sent later over the control channel (see `WarmTurnSettings`), so that upstream gets what
    /// the cold launch of that request would send.
    public static func pooled(configuration: Configuration, executable: String, cliModel: String, scratchDirectory: String) -> CLIInvocation {
        CLIInvocation(request: Request(conversation: CLIConversation(messages: []), cliModel: cliModel, maxTokens: nil),
                      configuration: configuration, executable: executable, scratchDirectory: scratchDirectory)
    }

    /// The CLI keeps sessions under `projects/<cwd with every non-alphanumeric character replaced by '-'>`.
    public static func projectFolderName(forWorkingDirectory directory: String) -> String {
        let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        return String(resolved.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
    }
}
