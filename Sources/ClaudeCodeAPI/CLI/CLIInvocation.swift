import Foundation

/// One CLI launch, decided in full before anything starts: the process, its stdin, and the files it needs.
public struct CLIInvocation: Sendable {
    public var process: ProcessSpec
    /// Written to the CLI's stdin, after which stdin is closed.
    public var standardInput: [UInt8]
    /// A file the CLI reads, written into the scratch folder before launch.
    public struct InputFile: Sendable, Equatable {
        public var path: String
        public var contents: [UInt8]
    }

    /// The system prompt (`--system-prompt-file`).
    public var systemPrompt: InputFile
    /// The session transcript of prior turns (`--resume`), when there are any.
    public var transcript: InputFile?
    /// Everything to write before launch.
    public var files: [InputFile] { [systemPrompt] + (transcript.map { [$0] } ?? []) }

    /// Settings of one request that shape the launch.
    public struct Request: Sendable {
        public var conversation: CLIConversation
        public var cliModel: String
        public var maxTokens: Int?
        /// Extended thinking budget; nil turns thinking off.
        public var thinkingBudget: Int?
        public var sessionID: String

        public init(conversation: CLIConversation, cliModel: String, maxTokens: Int?, thinkingBudget: Int? = nil,
                    sessionID: String = UUID().uuidString.lowercased()) {
            self.conversation = conversation
            self.cliModel = cliModel
            self.maxTokens = maxTokens
            self.thinkingBudget = thinkingBudget
            self.sessionID = sessionID
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
        systemPrompt = InputFile(path: "\(scratchDirectory)/system-prompt.txt", contents: Array((request.conversation.systemPrompt ?? "").utf8))
        // Each turn has a HOME of its own: no transcript, setting or credential file of one client is seen by another.
        let home = scratchDirectory
        if !request.conversation.history.isEmpty {
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

        process = ProcessSpec(executable: executable, arguments: arguments, environment: environment, workingDirectory: scratchDirectory)
        standardInput = request.conversation.stdinLine()
    }

    /// The CLI keeps sessions under `projects/<cwd with every non-alphanumeric character replaced by '-'>`.
    public static func projectFolderName(forWorkingDirectory directory: String) -> String {
        let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        return String(resolved.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
    }
}
