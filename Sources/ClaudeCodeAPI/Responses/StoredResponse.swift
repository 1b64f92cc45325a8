/// One stored response: the response object as the client got it, the input items of its own request, and the
/// response it continued. `owner` is the client key's name ("" is the shared space while API keys are off).
public struct StoredResponse: Equatable, Sendable {
    public var id: String
    public var owner: String
    /// Unix seconds.
    public var createdAt: Int
    public var previousResponseID: String?
    /// The `response` object, as sent.
    public var response: JSONValue
    /// The input items of this response's own request (with their ids), in OpenAI's item shape.
    public var inputItems: [JSONValue]

    public init(id: String, owner: String, createdAt: Int, previousResponseID: String?, response: JSONValue, inputItems: [JSONValue]) {
        self.id = id
        self.owner = owner
        self.createdAt = createdAt
        self.previousResponseID = previousResponseID
        self.response = response
        self.inputItems = inputItems
    }

    /// The output items of the response.
    public var outputItems: [JSONValue] {
        if case .array(let items)? = response["output"] { return items }
        return []
    }
}
