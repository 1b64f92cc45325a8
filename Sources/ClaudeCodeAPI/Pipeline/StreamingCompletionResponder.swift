/// SSE rendering. The status line is held back until the first content (or until the first keep-alive is due),
/// so that an early failure (bad credentials, rate limit) still gets a real HTTP status instead of a 200 stream.
public struct StreamingCompletionResponder: CompletionResponder {
    private let writer: any ResponseWriter
    private let identity: CompletionIdentity
    private let includeUsage: Bool
    private let encoder = SSEEncoder()
    private var headSent = false
    public private(set) var isComplete = false
    public var hasSentAnything: Bool { headSent || isComplete }
    public private(set) var outcome: (status: Int, finishReason: FinishReason?, usage: Usage?) = (200, nil, nil)

    public init(writer: any ResponseWriter, identity: CompletionIdentity, includeUsage: Bool) {
        self.writer = writer
        self.identity = identity
        self.includeUsage = includeUsage
    }

    public mutating func send(_ event: CompletionEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .content(let text):
            try startStream()
            try writer.write(encoder.event(ChatCompletionChunk.content(identity, text)))
        case .reasoning(let text):
            try startStream()
            try writer.write(encoder.event(ChatCompletionChunk.reasoning(identity, text)))
        case .finished(let reason, let usage):
            try startStream()
            try writer.write(encoder.event(ChatCompletionChunk.finish(identity, reason)))
            if includeUsage { try writer.write(encoder.event(ChatCompletionChunk.usage(identity, usage))) }
            try writer.write(SSEEncoder.done)
            isComplete = true
            outcome = (200, reason, usage)
        case .failed(let error):
            isComplete = true
            outcome = (headSent ? 200 : error.status, nil, nil)
            guard headSent else {
                try writer.respond(error: error)
                return
            }
            // Once the stream has begun the status is spent: the error travels as an event.
            try writer.write(encoder.event(error.body))
            try writer.write(SSEEncoder.done)
        }
        try writer.flush()
    }

    public mutating func idle() throws(ClientDisconnected) {
        guard !isComplete else { return }
        try startStream()
        try writer.write(SSEEncoder.keepAlive)
        try writer.flush()
    }

    private mutating func startStream() throws(ClientDisconnected) {
        guard !headSent else { return }
        headSent = true
        try writer.writeHead(status: 200, headers: [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("X-Accel-Buffering", "no"),
        ])
        try writer.write(encoder.event(ChatCompletionChunk.role(identity)))
    }
}
