import HTTPCore

/// Non-streaming Responses API answers: collects the turn, stores it (when asked), then sends one `response` object
/// (or one OpenAI error object).
struct ResponsesEncoder: TurnEncoder {
    /// Called with the final response object before it is sent; an error there (the store failed) is sent instead.
    typealias Completion = (JSONValue) -> APIError?

    private let writer: any ResponseWriter
    private let object: ResponseObject
    private let complete: Completion
    private let errorFormat = OpenAIErrorFormat()
    private var text = ""
    private var reasoning = ""
    private(set) var isComplete = false
    var hasSentAnything: Bool { isComplete }
    private(set) var status = 200

    init(writer: any ResponseWriter, object: ResponseObject, complete: @escaping Completion) {
        self.writer = writer
        self.object = object
        self.complete = complete
    }

    mutating func send(_ event: TurnEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .started, .toolCallStarted, .toolCallArguments: break  // the calls come complete with `finished`
        case .text(let piece): text += piece
        case .reasoning(let piece): reasoning += piece
        case .finished(let completion):
            isComplete = true
            var output: [JSONValue] = []
            if !reasoning.isEmpty { output.append(ResponseObject.reasoning(id: ResponseItems.makeID("rs"), text: reasoning)) }
            if !text.isEmpty || completion.toolCalls.isEmpty {
                output.append(ResponseObject.message(id: ResponseItems.makeID("msg"), text: text, status: "completed"))
            }
            for call in completion.toolCalls {
                output.append(ResponseObject.functionCall(id: ResponseItems.makeID("fc"), callID: call.id, name: call.name,
                                                          arguments: call.arguments, status: "completed"))
            }
            let final = ResponseObject.status(completion.stopReason)
            let response = object.json(status: final.status, output: output, usage: ResponseObject.usage(completion.usage, reasoningText: reasoning),
                                       incompleteReason: final.incompleteReason)
            if let failure = complete(response) { return try fail(failure) }
            status = 200
            try writer.respond(status: 200, contentType: "application/json", body: Array((response.jsonText + "\n").utf8))
        case .failed(let error):
            isComplete = true
            try fail(error)
        }
    }

    private mutating func fail(_ error: APIError) throws(ClientDisconnected) {
        status = errorFormat.status(for: error)
        try writer.respond(error, in: errorFormat)
    }

    mutating func idle() throws(ClientDisconnected) {}
}
