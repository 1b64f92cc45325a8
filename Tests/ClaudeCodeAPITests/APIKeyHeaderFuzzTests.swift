import Foundation
import Testing
@testable import ClaudeCodeAPI

/// Hostile `Authorization` and `x-api-key` values through the whole application with keys on: nothing crashes, only the
/// exact key gets in, and no value is ever echoed in a response or a log line. Bounded here; FUZZ_ITERATIONS runs more.
@Suite("Fuzzing the Authorization and x-api-key parsing")
struct APIKeyHeaderFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"] ?? "").map { $0 / 10 } ?? 3_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["FUZZ_SEED"] ?? "") ?? 0xA11C_E5EE
    static let key = "sk-cca-fuzz-Q2xhdWRlQ29kZUFQSQ"

    /// Whether `value` presents exactly the key, by the documented rule, written out independently of the parser.
    static func presentsKey(authorization value: String) -> Bool {
        let blanks: Set<UInt8> = [0x20, 0x09]
        var bytes = Array(value.utf8)[...]
        while let first = bytes.first, blanks.contains(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, blanks.contains(last) { bytes = bytes.dropLast() }
        guard bytes.count > 6, String(decoding: bytes.prefix(6), as: UTF8.self).lowercased() == "bearer" else { return false }
        var rest = bytes.dropFirst(6)
        guard let first = rest.first, blanks.contains(first) else { return false }
        while let first = rest.first, blanks.contains(first) { rest = rest.dropFirst() }
        return String(decoding: rest, as: UTF8.self) == key
    }

    static func presentsKey(xAPIKey value: String) -> Bool {
        value.trimmingCharacters(in: CharacterSet(charactersIn: " \t")) == key
    }

    static func mutate(_ input: String, using rng: inout RequestFuzzTests.Generator) -> String {
        var bytes = Array(input.utf8)
        let pieces: [[UInt8]] = ["Bearer ", "bearer", " ", "\t", "\u{0}", "é", "\u{7F}", "Basic ", "=", ",", key, "sk-cca-"].map { Array($0.utf8) }
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[min(position, bytes.count - 1)] = UInt8.random(in: 0x20...0x7E, using: &rng)
            case 1: bytes = Array(bytes.prefix(position))
            case 2: bytes.insert(contentsOf: pieces.randomElement(using: &rng)!, at: position)
            case 3 where !bytes.isEmpty: bytes.remove(at: min(position, bytes.count - 1))
            case 4: bytes += (0..<Int.random(in: 1...600, using: &rng)).map { _ in UInt8.random(in: 0x21...0x7E, using: &rng) }
            case 5: bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...0xFF, using: &rng) }
            default: bytes = bytes.map { UInt8(ascii: "a")...UInt8(ascii: "z") ~= $0 && Bool.random(using: &rng) ? $0 - 32 : $0 }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("hostile header values never crash, never let a wrong key in, and are never echoed")
    func hostileHeaders() throws {
        let file = try KeyFile(KeyFile.line("fuzz", Self.key) + "\n")
        defer { file.remove() }
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"),
                                  environment: ["CCA_API_KEYS_FILE": file.path], clock: ManualClock())
        var rng = RequestFuzzTests.Generator(state: Self.seed)
        let seeds = ["Bearer \(Self.key)", Self.key, "Bearer  \(Self.key)\t", "Basic Zm9vOmJhcg==", ""]
        var admitted = 0
        for index in 0..<Self.iterations {
            let value = Self.mutate(seeds.randomElement(using: &rng)!, using: &rng)
            let asAuthorization = Bool.random(using: &rng)
            let headers = asAuthorization ? ["authorization": value] : ["x-api-key": value]
            // A fresh address each time: this checks parsing, not the failed-attempt limit.
            let address = "10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255)"
            let response = app.send("GET", "/v1/models", headers: headers, remoteAddress: address)
            let expected = asAuthorization ? Self.presentsKey(authorization: value) : Self.presentsKey(xAPIKey: value)
            #expect(response.status == (expected ? 200 : 401), "\(asAuthorization ? "authorization" : "x-api-key"): \(value.debugDescription)")
            if expected { admitted += 1 }
            // A value long enough not to occur in a fixed message by chance never comes back.
            if value.utf8.count >= 16 && response.status == 401 { #expect(!response.text.contains(value)) }
        }
        #expect(admitted > 0, "the mutations never kept the key intact: the fuzz would not notice a parser that refuses everything")
        let logs = app.logLines.all.joined()
        #expect(!logs.contains(Self.key) && !logs.contains(APIKeyDigest(of: Self.key).hex))
    }
}
