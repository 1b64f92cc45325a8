import HTTPCore

/// Streaming chat completions as SSE `chat.completion.chunk`s. The status line is held back until the first content
/// (or until the first keep-alive is due), so that an early failure (bad credentials, rate limit) still gets a real
/// HTTP status instead of a 200 stream.
public struct ChatCompletionStreamEncoder: TurnEncoder {
    private let writer: any ResponseWriter
    private let identity: CompletionIdentity
    private let includeUsage: Bool
    private let legacyFunctions: Bool
    private let json = JSONWire()
    private let errorFormat = OpenAIErrorFormat()
    private var headSent = false
    /// The content and reasoning chunks, all alike but for their text (made at their first use; nil if one cannot be
    /// made, and then every chunk is encoded).
    private lazy var contentTemplate = template(of: ChatCompletionChunk.content)
    private lazy var reasoningTemplate = template(of: ChatCompletionChunk.reasoning)
    public private(set) var isComplete = false
    public var hasSentAnything: Bool { headSent || isComplete }
    public private(set) var status = 200

    public init(writer: any ResponseWriter, identity: CompletionIdentity, includeUsage: Bool, legacyFunctions: Bool = false) {
        self.writer = writer
        self.identity = identity
        self.includeUsage = includeUsage
        self.legacyFunctions = legacyFunctions
    }

    public mutating func send(_ event: TurnEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .started:
            return  // OpenAI's chunks carry no upstream message id
        case .text(let text):
            try startStream()
            let template = contentTemplate
            try emit(text, with: template, or: ChatCompletionChunk.content)
        case .reasoning(let text):
            try startStream()
            let template = reasoningTemplate
            try emit(text, with: template, or: ChatCompletionChunk.reasoning)
        case .toolCallStarted(let index, let id, let name):
            guard !legacyFunctions || index == 0 else { return }  // the legacy form has one call
            try startStream()
            try emit(ChatCompletionChunk.toolCallStart(identity, index: index, id: id, name: name, legacy: legacyFunctions))
        case .toolCallArguments(let index, let fragment):
            guard !legacyFunctions || index == 0 else { return }
            try startStream()
            try emit(ChatCompletionChunk.toolCallArguments(identity, index: index, fragment: fragment, legacy: legacyFunctions))
        case .finished(let completion):
            try startStream()
            try emit(ChatCompletionChunk.finish(identity, FinishReason(completion.stopReason, legacyFunctions: legacyFunctions)))
            if includeUsage { try emit(ChatCompletionChunk.usage(identity, Usage(completion.usage))) }
            try writer.write(SSEEncoder.done)
            isComplete = true
        case .failed(let error):
            isComplete = true
            guard headSent else {
                status = error.status
                try writer.respond(error, in: errorFormat)
                return
            }
            // Once the stream has begun the status is spent: the error travels as an event.
            try writer.write(errorFormat.streamEvents(for: error))
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
        try writer.writeHead(status: 200, headers: SSEEncoder.responseHeaders)
        try emit(ChatCompletionChunk.role(identity))
    }

    private func template(of chunk: (CompletionIdentity, String) -> ChatCompletionChunk) -> SSEEventTemplate? {
        (try? json.encode(chunk(identity, SSEEventTemplate.textMarker))).flatMap { SSEEventTemplate(rendered: SSEEncoder.data($0)) }
    }

    /// A text chunk through its template: the bytes `emit` writes for `chunk(identity, text)`, without encoding it.
    private mutating func emit(_ text: String, with template: SSEEventTemplate?,
                               or chunk: (CompletionIdentity, String) -> ChatCompletionChunk) throws(ClientDisconnected) {
        guard let template else { return try emit(chunk(identity, text)) }
        try writer.write(template.render(text: text))
    }

    /// One chunk as a `data:` event. A chunk that cannot be encoded ends the stream with an internal error.
    private mutating func emit(_ chunk: ChatCompletionChunk) throws(ClientDisconnected) {
        do {
            try writer.write(SSEEncoder.data(try json.encode(chunk)))
        } catch let failure as JSONWire.EncodingFailure {
            isComplete = true
            _ = failure  // only a non-finite number can fail to encode; there is none in a chunk
            try writer.write(errorFormat.streamEvents(for: .internalError(requestID: nil)))
        } catch {
            throw ClientDisconnected()
        }
    }
}
