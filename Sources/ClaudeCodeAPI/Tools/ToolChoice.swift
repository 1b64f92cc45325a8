/// Whether and which tool the model must call. The CLI cannot send `tool_choice` upstream: `required` and a named
/// function become an instruction in the system prompt plus a check of the answer (`ToolOutputPolicy`).
public enum ToolChoice: Equatable, Sendable {
    case auto
    /// No call is ever returned (a call the model makes anyway ends the turn with the text before it).
    case none
    case required
    case function(String)
}
