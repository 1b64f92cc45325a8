import Foundation
@testable import ClaudeCodeAPI

/// The real CLI recordings in Fixtures/ (copied from shared/claude-cli/samples).
enum Fixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!
    }

    static func bytes(_ name: String) -> [UInt8] {
        Array(try! Data(contentsOf: url(name)))
    }

    static func lines(_ name: String) -> [[UInt8]] {
        bytes(name).split(separator: UInt8(ascii: "\n")).map(Array.init)
    }

    static func events(_ name: String) throws -> [CLIEvent] {
        try lines(name).map { try CLIEventDecoder().decode(line: $0) }
    }

    /// Runs a recording through a fresh translator.
    static func translate(_ name: String, includeReasoning: Bool = false) throws -> [TurnEvent] {
        var translator = TurnTranslator(includeReasoning: includeReasoning)
        var output: [TurnEvent] = []
        for event in try events(name) { output += translator.consume(event) }
        if !translator.isFinished { output += translator.outputEnded(failingWith: .cliFailed(requestID: "test")) }
        return output
    }
}

extension Array where Element == TurnEvent {
    var content: String {
        compactMap { if case .text(let text) = $0 { text } else { nil } }.joined()
    }
    var reasoning: String {
        compactMap { if case .reasoning(let text) = $0 { text } else { nil } }.joined()
    }
    var failure: APIError? {
        for event in self { if case .failed(let error) = event { return error } }
        return nil
    }
    var finish: TurnCompletion? {
        for event in self { if case .finished(let completion) = event { return completion } }
        return nil
    }
}
