import Foundation
import Testing
import HTTPCore
@testable import ClaudeCodeAPI

/// What a key check adds to a request: printed, never asserted (timing depends on the machine and its load).
/// `swift test -c release --filter APIKeyCheckBenchmark` for the production figure.
@Suite("The cost of a key check (prints; asserts only that the checks ran)")
struct APIKeyCheckBenchmarkTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["BENCH_ITERATIONS"] ?? "") ?? 100_000

    static func nanosecondsPerCall(_ iterations: Int, _ body: () -> Bool) -> (Double, Int) {
        let clock = SystemClock()
        var hits = 0
        let start = clock.now()
        for _ in 0..<iterations where body() { hits += 1 }
        return (Double(clock.now() - start) / Double(iterations), hits)
    }

    @Test("the right key among 1, 10 and 100 keys, and a wrong one: SHA-256 plus constant-time comparisons",
          arguments: [1, 10, 100])
    func keyCheck(_ keyCount: Int) {
        let keys = (0..<keyCount).map { APIKey(name: "k\($0)", digest: APIKeyDigest(of: "sk-cca-bench-key-\($0)")) }
        let authenticator = RequestAuthenticator(keys: APIKeyStore(keys: keys), failures: FailedAuthLimiter(clock: SystemClock()))
        let right = HTTPRequest(method: .post, path: "/v1/chat/completions",
                                headers: ["authorization": "Bearer sk-cca-bench-key-\(keyCount - 1)", "content-type": "application/json"],
                                requestID: "bench", remoteAddress: "127.0.0.1")
        let (perCheck, hits) = Self.nanosecondsPerCall(Self.iterations) {
            if case .key = authenticator.check(right) { return true }
            return false
        }
        #expect(hits == Self.iterations)
        let wrongKeys = APIKeyStore(keys: keys)
        let (perWrong, wrongHits) = Self.nanosecondsPerCall(Self.iterations) { wrongKeys.key(matching: "sk-cca-not-a-key") != nil }
        #expect(wrongHits == 0)
        print("key check, \(keyCount) key(s), \(Self.iterations) iterations: \(String(format: "%.0f", perCheck)) ns per request with the right key; "
              + "\(String(format: "%.0f", perWrong)) ns per wrong key (digest and comparisons only)")
    }
}
