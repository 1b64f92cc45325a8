import HTTPCore

/// Non-streaming Responses API answers: stores the turn (when asked), then sends one `response` object (or one OpenAI
/// error object).
typealias ResponsesEncoder = BufferedTurnEncoder<ResponsesAnswer>

struct ResponsesAnswer: TurnAnswer {
    /// Called with the final response object before it is sent; an error there (the store failed) is sent instead.
    typealias Completion = (JSONValue) -> APIError?

    let object: ResponseObject
    let complete: Completion
    let errorFormat: any ErrorFormat = OpenAIErrorFormat()

    func body(text: String, reasoning: String, completion: TurnCompletion) -> Result<[UInt8], APIError> {
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
        if let failure = complete(response) { return .failure(failure) }
        return .success(Array((response.jsonText + "\n").utf8))
    }
}

extension BufferedTurnEncoder where Answer == ResponsesAnswer {
    init(writer: any ResponseWriter, object: ResponseObject, complete: @escaping ResponsesAnswer.Completion) {
        self.init(writer: writer, answer: ResponsesAnswer(object: object, complete: complete))
    }
}
