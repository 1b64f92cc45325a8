/// Renders `CompletionEvent`s to the client: as SSE chunks (`StreamingCompletionResponder`) or as one
/// `chat.completion` object (`BufferedCompletionResponder`). Both build from the same OpenAI types.
public protocol CompletionResponder {
    /// Sends (or keeps) one event. Throws when the client is gone.
    mutating func send(_ event: CompletionEvent) throws(ClientDisconnected)
    /// Called while the CLI is silent; streaming answers keep the connection alive.
    mutating func idle() throws(ClientDisconnected)
    /// Whether a terminal event (finished or failed) has been sent.
    var isComplete: Bool { get }
    /// Whether any byte of the response has gone out (a retry is only possible before).
    var hasSentAnything: Bool { get }
    /// Status, finish reason and usage, for the access log.
    var outcome: (status: Int, finishReason: FinishReason?, usage: Usage?) { get }
}

/// Shared rendering of an `APIError` as a complete JSON response.
extension ResponseWriter {
    public func respond(error: APIError, encoder: JSONBodyEncoder = JSONBodyEncoder()) throws(ClientDisconnected) {
        var headers: [(String, String)] = []
        if let seconds = error.retryAfterSeconds { headers.append(("Retry-After", String(seconds))) }
        try respond(status: error.status, json: encoder.encode(error.body), headers: headers)
    }
}
