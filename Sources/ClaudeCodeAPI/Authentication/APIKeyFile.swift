import FoundationEssentials
import Glibc

/// The key file (`CCA_API_KEYS_FILE`): one key a line, `NAME SHA256_HEX [max_concurrent=N] [rpm=N]`, options in any
/// order; `#` starts a comment; blank lines are ignored. Errors name the line, never its text (it holds a digest).
public enum APIKeyFile {
    /// Files larger than this are refused (a key file is a few lines; anything else is the wrong file).
    public static let maximumBytes = 1 << 20

    public static func load(path: String) throws(APIKeyFileError) -> [APIKey] {
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maximumBytes {
                throw APIKeyFileError(path: path, line: nil, message: "larger than \(maximumBytes) bytes")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as APIKeyFileError {
            throw error
        } catch {
            throw APIKeyFileError(path: path, line: nil, message: "cannot be read (\(Self.reason(error)))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw APIKeyFileError(path: path, line: nil, message: "is not UTF-8 text")
        }
        do { return try parse(text) } catch { throw APIKeyFileError(path: path, line: error.line, message: error.message) }
    }

    public static func parse(_ text: String) throws(APIKeyFileError) -> [APIKey] {
        var keys: [APIKey] = []
        var lineOfName: [String: Int] = [:]
        var lineOfDigest: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            func fail(_ message: String) -> APIKeyFileError { APIKeyFileError(path: nil, line: number, message: message) }
            let content = rawLine.prefix { $0 != "#" }
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let name = fields.first else { continue }
            guard APIKey.isValidName(name) else { throw fail("the name must be 1 to 64 of A-Z a-z 0-9 . _ -") }
            guard fields.count >= 2 else { throw fail("expected NAME SHA256_HEX [max_concurrent=N] [rpm=N]") }
            guard let digest = APIKeyDigest(hex: fields[1]) else {
                throw fail("the second field must be the key's SHA-256 as 64 lower-case hex digits")
            }
            var limits = KeyLimits()
            for option in fields.dropFirst(2) {
                let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let value = Int(parts[1]), (1...1_000_000).contains(value) else {
                    throw fail("options are max_concurrent=N and rpm=N with N from 1 to 1000000")
                }
                switch parts[0] {
                case "max_concurrent" where limits.maxConcurrent == nil: limits.maxConcurrent = value
                case "rpm" where limits.requestsPerMinute == nil: limits.requestsPerMinute = value
                case "max_concurrent", "rpm": throw fail("\(parts[0]) is given twice")
                default: throw fail("unknown option (options are max_concurrent=N and rpm=N)")
                }
            }
            let nameText = String(name)
            if let earlier = lineOfName[nameText] { throw fail("the name \(nameText) is already used on line \(earlier)") }
            if let earlier = lineOfDigest[digest.hex] { throw fail("the same key is already listed on line \(earlier)") }
            lineOfName[nameText] = number
            lineOfDigest[digest.hex] = number
            keys.append(APIKey(name: nameText, digest: digest, limits: limits))
        }
        return keys
    }

    /// The file line for a key.
    public static func line(for key: APIKey) -> String {
        var fields = [key.name, key.digest.hex]
        if let n = key.limits.maxConcurrent { fields.append("max_concurrent=\(n)") }
        if let n = key.limits.requestsPerMinute { fields.append("rpm=\(n)") }
        return fields.joined(separator: " ")
    }

    private static func reason(_ error: any Error) -> String {
        if let posix = (error as? CocoaError)?.underlying as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        return "\(error)"
    }
}
