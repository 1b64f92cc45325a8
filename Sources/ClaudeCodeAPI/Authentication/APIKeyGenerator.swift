import FoundationEssentials

/// New client keys: `sk-cca-` and 256 bits from the system's CSPRNG (`SystemRandomNumberGenerator`, which is
/// getrandom(2) on Linux), base64url without padding: 50 characters that an OpenAI client takes as they are.
public enum APIKeyGenerator {
    public static let prefix = "sk-cca-"
    public static let randomBytes = 32

    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return make(using: &generator)
    }

    static func make(using generator: inout some RandomNumberGenerator) -> String {
        let bytes = (0..<randomBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64url = Data(bytes).base64EncodedString()
            .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
        return prefix + base64url
    }
}
