/// The keys a request presents: `Authorization: Bearer KEY` (OpenAI clients) and `x-api-key: KEY` (Anthropic
/// clients). Either may carry the key when both are sent. A value that is not a plausible key (another scheme, empty,
/// spaces or control characters inside, longer than `maximumKeyLength`) presents nothing.
public struct PresentedCredentials: Sendable, Equatable {
    /// Longer values are not hashed at all (keys made by `keys new` are 50 characters).
    public static let maximumKeyLength = 512

    /// At most two candidates, without repeats.
    public var candidates: [String]
    /// Whether the request carried either header at all (a missing key and a wrong key get different messages).
    public var sentAny: Bool

    /// Reads the request's headers (names lower-cased by the transport).
    public init(headers: [String: String]) {
        var candidates: [String] = []
        if let authorization = headers["authorization"], let token = Self.bearerToken(authorization) {
            candidates.append(token)
        }
        if let value = headers["x-api-key"], let key = Self.plausibleKey(Array(value.utf8)[...]), !candidates.contains(key) {
            candidates.append(key)
        }
        self.candidates = candidates
        sentAny = headers["authorization"] != nil || headers["x-api-key"] != nil
    }

    /// The token of `Bearer TOKEN` (scheme in any case, blanks around the token ignored).
    static func bearerToken(_ value: String) -> String? {
        let bytes = trimmed(Array(value.utf8)[...])
        guard let blank = bytes.firstIndex(where: isBlank),
              String(decoding: bytes[..<blank], as: UTF8.self).lowercased() == "bearer" else { return nil }
        return plausibleKey(bytes[blank...])
    }

    /// The value without surrounding blanks, if it could be a key: visible ASCII only, 1 to `maximumKeyLength` bytes.
    static func plausibleKey(_ value: ArraySlice<UInt8>) -> String? {
        let bytes = trimmed(value)
        guard (1...maximumKeyLength).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var bytes = bytes
        while let first = bytes.first, isBlank(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, isBlank(last) { bytes = bytes.dropLast() }
        return bytes
    }
}
