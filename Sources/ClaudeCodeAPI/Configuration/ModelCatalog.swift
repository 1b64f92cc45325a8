/// The models the service accepts: Claude model names, and aliases (e.g. OpenAI names) that map onto them.
public struct ModelCatalog: Sendable, Equatable {
    /// Names passed to the CLI as they are.
    public var models: [String]
    /// Alias -> name passed to the CLI.
    public var aliases: [String: String]

    public init(models: [String], aliases: [String: String]) {
        self.models = models
        self.aliases = aliases
    }

    /// The CLI model for a requested name, or nil when the service does not accept it. Listed names and aliases map as
    /// configured; any other well-formed Claude model id (Anthropic's dated ids such as `claude-sonnet-4-5-20250929`,
    /// `-latest` aliases, older models) is passed to the CLI as it is, so that upstream decides: its 404 becomes
    /// `model_not_found`. The shape check keeps anything else out of the CLI's argv.
    public func cliModel(for requested: String) -> String? {
        if let target = aliases[requested] { return target }
        if models.contains(requested) || Self.isClaudeModelID(requested) { return requested }
        return nil
    }

    /// `claude-` then lower-case letters, digits, dots and dashes, at most 100 characters.
    public static func isClaudeModelID(_ name: String) -> Bool {
        guard name.hasPrefix("claude-"), name.utf8.count <= 100, name.utf8.count > 7 else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }
    }

    /// Every accepted name, models first, for `GET /v1/models`.
    public var acceptedNames: [String] {
        models + aliases.keys.sorted().filter { !models.contains($0) }
    }

    public static let defaultModels = ["claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "opus", "sonnet", "haiku"]
    public static let defaultAliases = [
        "gpt-4o": "claude-sonnet-4-5",
        "gpt-4o-mini": "claude-haiku-4-5",
        "gpt-4.1": "claude-sonnet-4-5",
        "gpt-4.1-mini": "claude-haiku-4-5",
        "gpt-4": "claude-opus-4-5",
        "gpt-3.5-turbo": "claude-haiku-4-5",
    ]

    /// Parses `name=target,name=target`.
    public static func parseAliases(_ text: String) throws(ConfigurationError) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: ",").map({ $0.trimmingSpaces() }) where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigurationError(variable: "CCA_MODEL_ALIASES", message: "expected name=target pairs, got '\(pair)'")
            }
            result[parts[0]] = parts[1]
        }
        return result
    }
}
