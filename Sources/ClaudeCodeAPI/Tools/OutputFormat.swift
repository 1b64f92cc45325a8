/// The shape the answer's text must have (OpenAI `response_format`).
public enum OutputFormat: Equatable, Sendable {
    case text
    /// One JSON object, checked to parse.
    case jsonObject
    /// JSON matching `schema`: the model answers by calling one internal tool whose input schema is the schema, and
    /// the call's arguments become the answer's text.
    case jsonSchema(name: String, schema: JSONValue, strict: Bool)
}
