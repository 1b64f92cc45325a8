/// What the client is told, in order, about one turn: the common output of the CLI translation,
/// rendered either as SSE chunks or as one `chat.completion` object.
public enum CompletionEvent: Equatable, Sendable {
    case content(String)
    case reasoning(String)
    case finished(FinishReason, Usage)
    case failed(APIError)
}
