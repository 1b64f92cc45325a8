import Foundation
import Testing
import HTTPCore
@testable import ClaudeCodeAPI

/// Hostile bodies against the decoder and validation: malformed, truncated, deeply nested, huge strings,
/// invalid UTF-8, wrong types. Bounded here; `make fuzz` runs it longer (FUZZ_ITERATIONS).
@Suite("Fuzzing the request decoder and validation")
struct RequestFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"] ?? "") ?? 10_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["FUZZ_SEED"] ?? "") ?? 0x5EED_C0DE

    static let corpus = [
        #"{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}"#,
        #"{"model":"sonnet","stream":true,"stream_options":{"include_usage":true},"max_tokens":50,"messages":[{"role":"system","content":"Be terse."},{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#,
        #"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":null},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],"temperature":0.5,"n":1,"stop":["x"]}"#,
    ]

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {  // splitmix64: reproducible from the seed
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments: [[UInt8]] = [
        "null", "true", "1e309", "-0", "[]", "{}", "\"\"", "\"\\u0000\"", "\"\\ud800\"", "[[[[[[[[", "}}}}", ",", ":", "\"role\"",
        "\"messages\"", "{\"type\":\"image_url\"}", "123456789012345678901234567890", "\"content\":[{}]",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x00]]

    static func mutate(_ input: [UInt8], using rng: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<9, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes = Array(bytes.prefix(position))
            case 2: bytes.insert(contentsOf: fragments.randomElement(using: &rng)!, at: position)
            case 3 where !bytes.isEmpty: bytes.remove(at: position)
            case 4: bytes = Array(repeating: UInt8(ascii: "["), count: Int.random(in: 50...5_000, using: &rng)) + bytes
            case 5: bytes.insert(contentsOf: Array(("\"" + String(repeating: "x", count: Int.random(in: 1_000...200_000, using: &rng)) + "\"").utf8), at: position)
            case 6: bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0x80...0xFF, using: &rng) }, at: position)
            case 7: bytes = swapValueType(bytes, using: &rng)
            default: bytes += fragments.randomElement(using: &rng)!
            }
        }
        return bytes
    }

    /// Replaces one JSON value of a valid body with a value of another type.
    static func swapValueType(_ bytes: [UInt8], using rng: inout Generator) -> [UInt8] {
        guard let value = try? JSONValue.parse(bytes) else { return bytes }
        let replacements: [JSONValue] = [.null, .bool(true), .number(-1), .number(1e300), .string(""), .array([]), .object([:]),
                                         .array([.object(["role": .number(1)])]), .string(String(repeating: "é", count: 1000))]
        func rewrite(_ v: JSONValue, depth: Int) -> JSONValue {
            if Int.random(in: 0..<4, using: &rng) == 0 || depth > 6 { return replacements.randomElement(using: &rng)! }
            switch v {
            case .object(let fields):
                guard let key = fields.keys.sorted().randomElement(using: &rng) else { return v }
                var copy = fields
                copy[key] = rewrite(fields[key]!, depth: depth + 1)
                return .object(copy)
            case .array(let items):
                guard !items.isEmpty else { return v }
                var copy = items
                let index = Int.random(in: 0..<items.count, using: &rng)
                copy[index] = rewrite(items[index], depth: depth + 1)
                return .array(copy)
            default:
                return replacements.randomElement(using: &rng)!
            }
        }
        return Array((try? JSONEncoder().encode(rewrite(value, depth: 0))) ?? Data(bytes))
    }

    @Test("hostile bodies never crash the decoder: each is a valid request or a 4xx OpenAI error")
    func decoderAndValidation() throws {
        var rng = Generator(state: Self.seed)
        var accepted = 0
        var rejected = 0
        for iteration in 0..<Self.iterations {
            let body = Self.mutate(Array(Self.corpus[iteration % Self.corpus.count].utf8), using: &rng)
            do throws(APIError) {
                let json: JSONValue
                do { json = try JSONValue.parse(body) } catch { throw APIError.invalidJSON("fuzz") }
                _ = try ChatCompletionRequest.validate(json, maximumOutputTokens: 64_000)
                accepted += 1
            } catch {
                rejected += 1
                #expect((400..<500).contains(error.status), "iteration \(iteration): \(error)")
                #expect(!error.message.isEmpty)
                let encoded = OpenAIErrorFormat().responseBody(for: error)
                let decoded = try JSONSerialization.jsonObject(with: Data(encoded)) as? [String: Any]
                #expect((decoded?["error"] as? [String: Any])?["message"] as? String == error.message)
            }
        }
        #expect(rejected > Self.iterations / 2)  // the mutations do break most bodies
        #expect(accepted > 0)                    // and some still validate
    }

    @Test("hostile bodies through the whole application: always an OpenAI error JSON, never a crash or a CLI")
    func wholeApplication() throws {
        var rng = Generator(state: Self.seed ^ 0xABCD)
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl")
        let app = TestApplication(launcher: launcher, environment: ["CCA_MAX_BODY_BYTES": "100000"])
        for iteration in 0..<min(Self.iterations / 20, 2_000) {
            let body = Self.mutate(Array(Self.corpus[iteration % Self.corpus.count].utf8), using: &rng)
            let writer = RecordingResponseWriter()
            app.application.handle(HTTPRequest(method: .post, path: "/v1/chat/completions", contentLength: body.count, requestID: "fuzz"),
                                   body: BufferedBody(body), writer: writer)
            let status = try #require(writer.status)
            #expect(status == 200 || (400..<500).contains(status), "iteration \(iteration): status \(status)")
            if status != 200 { #expect(writer.json["error"] != nil) }
        }
    }
}
