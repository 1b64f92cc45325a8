import ArgumentParser
import FoundationEssentials
import ClaudeCodeAPI
import SystemCalls

/// `keys hash NAME`: reads a key made elsewhere on stdin (not echoed on a terminal) and prints its key-file line.
struct KeysHashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Read a key on stdin and print its line for the key file.")

    @OptionGroup var name: KeyName
    @OptionGroup var limits: KeyLimitOptions

    func run() throws {
        let terminal = Syscalls.isTerminal(0)
        if terminal {
            printToStandardError("Key (not shown): ", terminator: "")
            Syscalls.setTerminalEcho(0, enabled: false)
        }
        let read = readLine(strippingNewline: true)
        if terminal {
            Syscalls.setTerminalEcho(0, enabled: true)
            printToStandardError("")
        }
        let key = (read ?? "").trimmingSpaces()
        guard !key.isEmpty else { throw ValidationError("no key on standard input") }
        guard key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }), key.utf8.count <= PresentedCredentials.maximumKeyLength else {
            throw ValidationError("a key is 1 to \(PresentedCredentials.maximumKeyLength) visible ASCII characters, without spaces")
        }
        print(APIKeyFile.line(for: APIKey(name: name.name, digest: APIKeyDigest(of: key), limits: limits.limits)))
    }
}
