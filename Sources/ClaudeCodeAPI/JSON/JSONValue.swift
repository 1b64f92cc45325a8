import FoundationEssentials

/// A parsed JSON document, used to validate request bodies field by field with precise error paths.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses `bytes`. Nesting deeper than `maximumDepth`, or more than `maximumValues` values (each one costs a tree
    /// node), is refused by a scan of the bytes before anything is allocated for the tree.
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = 64, maximumValues: Int = 100_000) throws -> JSONValue {
        try checkShape(bytes, maximumDepth: maximumDepth, maximumValues: maximumValues)
        return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The name OpenAI uses for a value's type in error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number(let n): n == n.rounded() ? "an integer" : "a decimal"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Compact JSON text of the value (keys sorted), as a client receives arguments.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public enum ShapeError: Error, Equatable {
        case tooDeep(Int)
        case tooManyValues(Int)
    }

    /// Counts nesting and values without decoding: every `[`/`{` opens a level, and values are separated by `,` or
    /// start a container (an over-estimate that is never lower than the real count minus one per container).
    private static func checkShape(_ bytes: [UInt8], maximumDepth: Int, maximumValues: Int) throws(ShapeError) {
        var depth = 0
        var values = 1
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: ","):
                values += 1
                if values > maximumValues { throw .tooManyValues(maximumValues) }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                values += 1
                if depth > maximumDepth { throw .tooDeep(maximumDepth) }
                if values > maximumValues { throw .tooManyValues(maximumValues) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

/// Literals for the JSON the service writes itself (the CLI's stdin lines): `["type": "text", "text": .string(text)]`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByDictionaryLiteral,
                     ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
