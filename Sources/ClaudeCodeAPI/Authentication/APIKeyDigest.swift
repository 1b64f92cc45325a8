/// The SHA-256 of an API key: all the service ever holds of a key. Never printed in a log line or a response.
/// Not `Equatable` on purpose: digests are compared only with `matches`, in constant time.
public struct APIKeyDigest: Sendable {
    public static let byteCount = 32
    /// Exactly `byteCount` bytes.
    let bytes: [UInt8]

    /// The digest of `key` (its UTF-8 bytes, as `printf %s KEY | sha256sum` computes it).
    public init(of key: String) {
        bytes = SHA256.hash(key.utf8)
    }

    /// Parses 64 lower-case hex digits (the key file's form); nil for anything else.
    public init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count == Self.byteCount * 2 else { return nil }
        var parsed: [UInt8] = []
        parsed.reserveCapacity(Self.byteCount)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[pair]), let low = Self.nibble(digits[pair + 1]) else { return nil }
            parsed.append(high << 4 | low)
        }
        bytes = parsed
    }

    /// 64 lower-case hex digits, for the key file.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }

    /// Whether both digests are the same, in time that does not depend on where they differ: every byte pair is
    /// looked at, and the differences are folded together before the one branch.
    public func matches(_ other: APIKeyDigest) -> Bool {
        var difference: UInt8 = 0
        for index in 0..<Self.byteCount { difference |= bytes[index] ^ other.bytes[index] }
        return difference == 0
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
