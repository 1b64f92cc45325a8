/// One client key as the key file declares it: a name to show (logs, later metrics), the digest to check a presented
/// key against, and the key's own limits. The plain key is never held.
public struct APIKey: Sendable {
    /// A label such as `alice` or `ci-bot`: letters, digits, `.`, `_`, `-`; unique in the file.
    public var name: String
    public var digest: APIKeyDigest
    /// The key's own limits; nil values fall back to `CCA_KEY_DEFAULT_*`.
    public var limits: KeyLimits

    public init(name: String, digest: APIKeyDigest, limits: KeyLimits = KeyLimits()) {
        self.name = name
        self.digest = digest
        self.limits = limits
    }

    /// Whether `name` may name a key: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    public static func isValidName(_ name: some StringProtocol) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }
}
