/// Removes what looks like a secret from text bound for the log (CLI stderr, upstream error text): API keys,
/// bearer tokens, `user:pass@` in URLs, and `NAME=value` / `name: value` pairs whose name says key, token, secret or
/// password. Not for the hot path: it runs only on failures. The standard library's `Regex`, matched on Unicode
/// scalars with ASCII word boundaries (what a log line's keys and tokens are made of).
public enum LogRedaction {
    private struct Rule: @unchecked Sendable {  // Regex is immutable once built; it is not marked Sendable
        let pattern: Regex<AnyRegexOutput>
        /// The replacement of one match, from its numbered groups.
        let replacement: @Sendable (AnyRegexOutput) -> String
    }

    private static func rule(_ pattern: String, _ replacement: @escaping @Sendable (AnyRegexOutput) -> String) -> Rule {
        let regex = try! Regex(pattern).matchingSemantics(.unicodeScalar).wordBoundaryKind(.simple)
        return Rule(pattern: regex, replacement: replacement)
    }

    private static func group(_ output: AnyRegexOutput, _ index: Int) -> Substring {
        output[index].substring ?? ""
    }

    private static let rules: [Rule] = [
        rule(#"\bsk-[A-Za-z0-9_\-]{8,}"#) { _ in "[redacted key]" },
        rule(#"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"#) { "\(group($0, 1)) [redacted]" },
        rule(#"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]*@"#) { "\(group($0, 1))[redacted]@" },
        rule(#"(?i)\b([A-Z0-9_\-]*(api[_\-]?key|token|secret|password|passwd|credential)[A-Z0-9_\-]*)(\s*[=:]\s*|"\s*:\s*")("?)[^\s",;]+"#) {
            "\(group($0, 1))\(group($0, 3))\(group($0, 4))[redacted]"
        },
    ]

    public static func redact(_ text: String) -> String {
        var result = text
        for rule in rules {
            result = result.replacing(rule.pattern) { rule.replacement($0.output) }
        }
        return result
    }
}
