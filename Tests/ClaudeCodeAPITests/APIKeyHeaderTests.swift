import Testing
@testable import ClaudeCodeAPI

@Suite("Reading the key a request presents: Authorization: Bearer and x-api-key")
struct APIKeyHeaderTests {
    func candidates(_ headers: [String: String]) -> [String] { PresentedCredentials(headers: headers).candidates }

    @Test("Bearer in any case, with blanks around the token",
          arguments: ["Bearer sk-cca-1", "bearer sk-cca-1", "BEARER  sk-cca-1 ", " Bearer\tsk-cca-1", "Bearer sk-cca-1\t"])
    func bearer(_ value: String) {
        #expect(candidates(["authorization": value]) == ["sk-cca-1"])
    }

    @Test("x-api-key as it is, without surrounding blanks")
    func xAPIKey() {
        #expect(candidates(["x-api-key": "sk-cca-1"]) == ["sk-cca-1"])
        #expect(candidates(["x-api-key": "  sk-cca-1 "]) == ["sk-cca-1"])
    }

    @Test("both headers: both are candidates, the same key once")
    func both() {
        #expect(candidates(["authorization": "Bearer unused", "x-api-key": "sk-cca-1"]) == ["unused", "sk-cca-1"])
        #expect(candidates(["authorization": "Bearer sk-cca-1", "x-api-key": "sk-cca-1"]) == ["sk-cca-1"])
    }

    @Test("an Authorization value that is not Bearer and a plausible key presents nothing",
          arguments: ["Basic c2stY2NhLTE6", "Bearer", "Bearer ", "Bearersk-cca-1", "sk-cca-1", "Token sk-cca-1", "Bearer sk cca",
                      "Bearer sk-cca-\u{7F}", "Bearer sk-cca-é", "Bearer sk-\u{0}cca", "Bearer " + String(repeating: "k", count: 513), ""])
    func implausibleBearer(_ value: String) {
        let presented = PresentedCredentials(headers: ["authorization": value])
        #expect(presented.candidates.isEmpty)
        #expect(presented.sentAny)
    }

    @Test("an x-api-key value that cannot be a key presents nothing",
          arguments: ["", "  ", "sk cca", "sk-\u{7F}", "sk-é", "sk-\u{0}", "sk-\r\nx", String(repeating: "k", count: 513)])
    func implausibleXAPIKey(_ value: String) {
        let presented = PresentedCredentials(headers: ["x-api-key": value])
        #expect(presented.candidates.isEmpty)
        #expect(presented.sentAny)
    }

    @Test("a request with neither header sent nothing")
    func none() {
        let presented = PresentedCredentials(headers: ["content-type": "application/json"])
        #expect(presented.candidates.isEmpty && !presented.sentAny)
    }

    @Test("the longest key accepted is 512 characters")
    func longest() {
        let key = String(repeating: "k", count: 512)
        #expect(candidates(["x-api-key": key]) == [key])
    }
}
