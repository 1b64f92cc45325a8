import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("SHA-256, as FIPS 180-4 defines it and sha256sum prints it")
struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("NIST's long messages: 896 bits over two blocks, and a million a's")
    func longMessages() {
        let twoBlocks = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(Self.hex(SHA256.hash(twoBlocks.utf8)) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(Self.hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every length around the padding's edges (55, 56 and 64 bytes decide whether the length fits the last block),
    /// and random keys up to the longest a client may present, each against sha256sum of the same bytes.
    @Test("random messages of every length up to 2 blocks, and random keys, give sha256sum's digest")
    func matchesSha256sum() throws {
        var messages: [[UInt8]] = (0...130).map { length in (0..<length).map { _ in UInt8.random(in: 0...255) } }
        messages += (0..<20).map { _ in Array(APIKeyGenerator.make().utf8) }
        messages.append((0..<PresentedCredentials.maximumKeyLength).map { _ in UInt8.random(in: 0x21...0x7E) })
        for message in messages {
            #expect(Self.hex(SHA256.hash(message)) == (try Self.sha256sum(message)), "\(message.count) bytes")
        }
    }

    static func sha256sum(_ message: [UInt8]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cca-sha256-\(UUID().uuidString)")
        try Data(message).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }
}
