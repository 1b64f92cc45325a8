/// A function the client offers the model (OpenAI `tools[].function`, legacy `functions[]`, later other surfaces'
/// tool definitions). The model sees it under exactly this name, description and JSON Schema; nothing runs on the
/// server: a call ends the turn and goes back to the client.
public struct ClientTool: Equatable, Sendable {
    public var name: String
    public var description: String
    /// The JSON Schema of the arguments (an object schema).
    public var inputSchema: JSONValue
    /// The arguments the model returns are checked against the schema; a violation is an error, not a call.
    public var strict: Bool

    public init(name: String, description: String = "", inputSchema: JSONValue = .object(["type": .string("object")]), strict: Bool = false) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
        self.strict = strict
    }

    /// Names the CLI passes unchanged (it rewrites any other character to `_`); OpenAI's own rule, 1 to 64 of them.
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D
        }
    }

    /// The CLI cuts longer descriptions.
    public static let maximumDescriptionLength = 4096
}
