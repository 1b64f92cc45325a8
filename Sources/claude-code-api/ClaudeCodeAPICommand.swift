import ArgumentParser

/// The executable: the FastCGI responder by default, and the tools for its client keys.
struct ClaudeCodeAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claude-code-api",
        abstract: "An OpenAI-compatible API in front of the Claude Code CLI (a FastCGI responder behind nginx).",
        discussion: "With no arguments it serves requests; settings come from CCA_* environment variables (see .env.example).",
        subcommands: [ServeCommand.self, KeysCommand.self],
        defaultSubcommand: ServeCommand.self)
}
