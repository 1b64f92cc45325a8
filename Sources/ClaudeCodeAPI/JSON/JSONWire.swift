import FoundationEssentials

/// JSON as the service writes it: compact, keys sorted, slashes unescaped, and camelCase property names written in
/// snake_case (`promptTokens` -> `prompt_tokens`), so that wire types need no hand-written key lists for that.
public struct JSONWire: Sendable {
    /// The value could not be encoded (only a non-finite number can cause this).
    public struct EncodingFailure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private let encoder: JSONEncoder

    public init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
    }

    public func encode(_ value: some Encodable) throws(EncodingFailure) -> [UInt8] {
        do { return Array(try encoder.encode(value)) } catch { throw EncodingFailure(description: "\(error)") }
    }

    /// A response body: the JSON and a newline, for curl users.
    public func body(_ value: some Encodable) throws(EncodingFailure) -> [UInt8] {
        try encode(value) + [0x0A]
    }
}
