import Testing
@testable import ClaudeCodeAPI

@Suite("The key file: NAME SHA256_HEX [max_concurrent=N] [rpm=N], comments and blank lines ignored")
struct APIKeyFileTests {
    let alice = APIKeyDigest(of: "sk-cca-alice").hex
    let bob = APIKeyDigest(of: "sk-cca-bob").hex

    @Test("names, digests and options in any order; comments, blank lines, tabs and CRLF are fine")
    func parsesLines() throws {
        let keys = try APIKeyFile.parse("""
            # client keys
            alice \(alice) rpm=60 max_concurrent=2   # the first one

            \tci-bot.2\t\(bob)\tmax_concurrent=1\r
            """)
        #expect(keys.map(\.name) == ["alice", "ci-bot.2"])
        #expect(keys[0].limits == KeyLimits(maxConcurrent: 2, requestsPerMinute: 60))
        #expect(keys[1].limits == KeyLimits(maxConcurrent: 1, requestsPerMinute: nil))
        #expect(keys[0].digest.matches(APIKeyDigest(of: "sk-cca-alice")))
    }

    @Test("an empty file, or one of comments only, has no keys")
    func noKeys() throws {
        #expect(try APIKeyFile.parse("").isEmpty)
        #expect(try APIKeyFile.parse("# nobody yet\n\n").isEmpty)
    }

    @Test("a line the service cannot use is an error naming the line and the fault, never the line's text",
          arguments: [
            ("alice", 1, "expected NAME SHA256_HEX"),
            ("alice 1234", 1, "64 lower-case hex"),
            ("alice UPPERHEX", 1, "64 lower-case hex"),
            ("al ice ALICEHEX", 1, "64 lower-case hex"),
            ("al/ice ALICEHEX", 1, "the name must be"),
            ("alice ALICEHEX rpm=0", 1, "options are"),
            ("alice ALICEHEX rpm=ten", 1, "options are"),
            ("alice ALICEHEX burst=3", 1, "unknown option"),
            ("alice ALICEHEX rpm=1 rpm=2", 1, "rpm is given twice"),
            ("alice ALICEHEX\nalice BOBHEX", 2, "already used on line 1"),
            ("alice ALICEHEX\n\nbob ALICEHEX", 3, "already listed on line 1"),
          ])
    func rejects(_ template: String, _ line: Int, _ fault: String) {
        let text = template.replacingOccurrences(of: "ALICEHEX", with: alice).replacingOccurrences(of: "BOBHEX", with: bob)
            .replacingOccurrences(of: "UPPERHEX", with: alice.uppercased())
        do {
            _ = try APIKeyFile.parse(text)
            Issue.record("accepted: \(template)")
        } catch {
            #expect(error.line == line)
            #expect(error.message.contains(fault), "\(error.message)")
            #expect(!error.description.lowercased().contains(alice) && !error.description.contains(bob))
        }
    }

    @Test("the line printed for a key parses back to the same key")
    func lineRoundTrip() throws {
        let key = APIKey(name: "ci-bot", digest: APIKeyDigest(of: "sk-cca-x"), limits: KeyLimits(maxConcurrent: 3, requestsPerMinute: 120))
        let line = APIKeyFile.line(for: key)
        #expect(line == "ci-bot \(APIKeyDigest(of: "sk-cca-x").hex) max_concurrent=3 rpm=120")
        let parsed = try #require(try APIKeyFile.parse(line).first)
        #expect(parsed.name == "ci-bot" && parsed.limits == key.limits && parsed.digest.matches(key.digest))
    }

    @Test("a missing file is an error that names it")
    func missingFile() {
        do {
            _ = try APIKeyFile.load(path: "/nonexistent-cca-dir/keys")
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent-cca-dir/keys: cannot be read"), "\(error)")
        }
    }
}
