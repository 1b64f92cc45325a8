import Testing
@testable import ClaudeCodeAPI

@Suite("API key digests: SHA-256 as sha256sum prints it, compared only in constant time")
struct APIKeyDigestTests {
    @Test("the digest is SHA-256 of the key's UTF-8 bytes (FIPS 180-2 test vectors)",
          arguments: [("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                      ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                      ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")])
    func sha256(_ key: String, _ hex: String) {
        #expect(APIKeyDigest(of: key).hex == hex)
    }

    @Test("hex parses back to the same digest, which matches; another key's does not")
    func roundTripAndMatch() throws {
        let digest = APIKeyDigest(of: "sk-cca-one")
        let parsed = try #require(APIKeyDigest(hex: digest.hex))
        #expect(parsed.matches(digest))
        #expect(!parsed.matches(APIKeyDigest(of: "sk-cca-two")))
        #expect(!parsed.matches(APIKeyDigest(of: "sk-cca-one ")))
    }

    @Test("only 64 lower-case hex digits are a digest",
          arguments: ["", "abc", String(repeating: "A", count: 64), String(repeating: "0", count: 63), String(repeating: "0", count: 65),
                      String(repeating: "g", count: 64), String(repeating: "0", count: 62) + " 0", String(repeating: "é", count: 32)])
    func rejectsOtherText(_ text: String) {
        #expect(APIKeyDigest(hex: text) == nil)
    }
}
