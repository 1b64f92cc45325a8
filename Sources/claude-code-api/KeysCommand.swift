import ArgumentParser

/// `claude-code-api keys ...`: lines for the key file (`CCA_API_KEYS_FILE`). Nothing stores a plain key.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make client API keys and their lines for the key file (CCA_API_KEYS_FILE).",
        discussion: "A line is NAME SHA256_HEX [max_concurrent=N] [rpm=N]. After editing the file, send the service SIGHUP (systemctl reload claude-code-api).",
        subcommands: [KeysNewCommand.self, KeysHashCommand.self])
}
