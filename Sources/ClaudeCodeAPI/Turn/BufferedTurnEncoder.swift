import HTTPCore

/// What an API surface needs to answer a whole turn at once: its error format, and the body of a finished turn.
public protocol TurnAnswer {
    var errorFormat: any ErrorFormat { get }
    /// The JSON body for a turn that ended with `completion`, or the error to send instead.
    func body(text: String, reasoning: String, completion: TurnCompletion) -> Result<[UInt8], APIError>
}

/// A non-streaming answer, for every surface: collects the turn's text and reasoning (tool calls come complete with
/// `finished`), then sends one JSON body, or one error in the surface's format.
public struct BufferedTurnEncoder<Answer: TurnAnswer>: TurnEncoder {
    private let writer: any ResponseWriter
    private let answer: Answer
    private var text = ""
    private var reasoning = ""
    public private(set) var isComplete = false
    public var hasSentAnything: Bool { isComplete }
    public private(set) var status = 200

    public init(writer: any ResponseWriter, answer: Answer) {
        self.writer = writer
        self.answer = answer
    }

    public mutating func send(_ event: TurnEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .started, .toolCallStarted, .toolCallArguments: break
        case .text(let piece): text += piece
        case .reasoning(let piece): reasoning += piece
        case .finished(let completion):
            isComplete = true
            switch answer.body(text: text, reasoning: reasoning, completion: completion) {
            case .success(let body): try writer.respond(status: 200, contentType: "application/json", body: body)
            case .failure(let error): try fail(error)
            }
        case .failed(let error):
            isComplete = true
            try fail(error)
        }
    }

    private mutating func fail(_ error: APIError) throws(ClientDisconnected) {
        status = answer.errorFormat.status(for: error)
        try writer.respond(error, in: answer.errorFormat)
    }

    public mutating func idle() throws(ClientDisconnected) {}
}
