import Foundation

/// Removes what looks like a secret from text bound for the log (CLI stderr, upstream error text): API keys,
/// bearer tokens, `user:pass@` in URLs, and `NAME=value` / `name: value` pairs whose name says key, token, secret or
/// password. Not for the hot path: it runs only on failures.
public enum LogRedaction {
    private static let patterns: [(NSRegularExpression, String)] = [
        (#"\bsk-[A-Za-z0-9_\-]{8,}"#, "[redacted key]"),
        (#"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"#, "$1 [redacted]"),
        (#"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]*@"#, "$1[redacted]@"),
        (#"(?i)\b([A-Z0-9_\-]*(api[_\-]?key|token|secret|password|passwd|credential)[A-Z0-9_\-]*)(\s*[=:]\s*|"\s*:\s*")("?)[^\s",;]+"#,
         "$1$3$4[redacted]"),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }

    public static func redact(_ text: String) -> String {
        var result = text
        for (pattern, template) in patterns {
            let range = NSRange(result.startIndex..., in: result)
            result = pattern.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }
}
