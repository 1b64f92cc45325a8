import ArgumentParser
import ClaudeCodeAPI

/// A key's name, checked as the key file checks it.
struct KeyName: ParsableArguments {
    @Argument(help: "The key's name in logs: 1 to 64 of A-Z a-z 0-9 . _ - (e.g. alice, ci-bot).")
    var name: String

    func validate() throws {
        guard APIKey.isValidName(name) else { throw ValidationError("the name must be 1 to 64 of A-Z a-z 0-9 . _ -") }
    }
}
