/// One message of a conversation, after validation, whatever API surface it came in on.
public struct ChatMessage: Equatable, Sendable {
    public enum Role: String, Sendable, CaseIterable {
        case system, developer, user, assistant, tool, function
    }

    public var role: Role
    public var content: [ContentPart]

    public init(role: Role, content: [ContentPart]) {
        self.role = role
        self.content = content
    }

    /// The text parts joined, for system prompts and flattening.
    public var text: String {
        content.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined(separator: "\n")
    }
}

public enum ContentPart: Equatable, Sendable {
    case text(String)
    /// An image given inline as a `data:` URL (the service never fetches URLs).
    case image(mediaType: String, base64Data: String)
    /// A call of a client tool made by the assistant earlier in the conversation.
    case toolUse(id: String, name: String, input: JSONValue)
    /// The client's result for that call: a string, or an array of text blocks, in Anthropic's form.
    case toolResult(toolUseID: String, content: JSONValue, isError: Bool)
}
