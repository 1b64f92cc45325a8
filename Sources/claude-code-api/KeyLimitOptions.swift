import ArgumentParser
import ClaudeCodeAPI

/// The limits a key line may carry, as options of `keys new` and `keys hash`.
struct KeyLimitOptions: ParsableArguments {
    @Option(name: .customLong("max-concurrent"), help: "Model turns this key may have in flight at once.")
    var maxConcurrent: Int?

    @Option(help: "Model-turn requests a minute for this key (a token bucket of this size).")
    var rpm: Int?

    func validate() throws {
        for (name, value) in [("--max-concurrent", maxConcurrent), ("--rpm", rpm)] {
            if let value, !(1...1_000_000).contains(value) { throw ValidationError("\(name) must be from 1 to 1000000") }
        }
    }

    var limits: KeyLimits { KeyLimits(maxConcurrent: maxConcurrent, requestsPerMinute: rpm) }
}
