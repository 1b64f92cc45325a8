import ArgumentParser
import ClaudeCodeAPI

/// `keys new NAME`: a fresh random key on stdout's first line (shown once, nowhere stored), its key-file line on the second.
struct KeysNewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Print a new random key (first line) and its line for the key file (second line).")

    @OptionGroup var name: KeyName
    @OptionGroup var limits: KeyLimitOptions

    func run() throws {
        let key = APIKeyGenerator.make()
        let line = APIKeyFile.line(for: APIKey(name: name.name, digest: APIKeyDigest(of: key), limits: limits.limits))
        printToStandardError("The key (give it to the client; it is not stored anywhere), then its line for the key file:")
        print(key)
        print(line)
    }
}
