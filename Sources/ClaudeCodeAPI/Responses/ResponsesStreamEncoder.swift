import HTTPCore

/// Streaming Responses API answers: OpenAI's typed SSE events (`response.created`, `response.in_progress`,
/// `response.output_item.added` / `.done`, `response.content_part.added` / `.done`, `response.output_text.delta` /
/// `.done`, `response.reasoning_text.delta` / `.done`, `response.function_call_arguments.delta` / `.done`, then
/// `response.completed`, `response.incomplete` or `response.failed`), each with a `sequence_number` from 0 up by 1,
/// built from the neutral turn events. The status line waits for the first content (or keep-alive), so that an
/// early failure is a real HTTP error; the final response is stored before its terminal event is sent.
struct ResponsesStreamEncoder: TurnEncoder {
    private enum Open {
        case message(id: String)
        case reasoning(id: String)
        case call(index: Int, id: String, callID: String, name: String)
    }

    private let writer: any ResponseWriter
    private let object: ResponseObject
    private let complete: ResponsesAnswer.Completion
    private let errorFormat = OpenAIErrorFormat()
    private var sequence = 0
    private var headSent = false
    private var open: Open?
    /// The open item's text so far (a message's or reasoning's text, a call's arguments), appended to in place.
    private var openText = ""
    /// The open item's delta events, alike but for their delta and sequence number (made at its first delta; nil if
    /// it cannot be).
    private var deltaTemplate: (type: String, itemID: String, template: SSEEventTemplate?)?
    /// Items already closed, in output order.
    private var output: [JSONValue] = []
    /// Turn call index -> its item, for calls streamed before `finished`.
    private var streamedCalls: [Int: (id: String, outputIndex: Int)] = [:]
    private var reasoningText = ""
    private(set) var isComplete = false
    var hasSentAnything: Bool { headSent || isComplete }
    private(set) var status = 200

    init(writer: any ResponseWriter, object: ResponseObject, complete: @escaping ResponsesAnswer.Completion) {
        self.writer = writer
        self.object = object
        self.complete = complete
    }

    private var outputIndex: Int { output.count }

    mutating func send(_ event: TurnEvent) throws(ClientDisconnected) {
        guard !isComplete else { return }
        switch event {
        case .started: return
        case .text(let piece):
            try startStream()
            if case .message(let id)? = open {
                openText += piece
                try emitDelta("response.output_text.delta", id, piece)
            } else {
                try closeOpen()
                let id = ResponseItems.makeID("msg")
                try emit("response.output_item.added", ["output_index": index(outputIndex), "item": ResponseObject.message(id: id, text: nil, status: "in_progress")])
                try emit("response.content_part.added", ["item_id": .string(id), "output_index": index(outputIndex), "content_index": .number(0),
                                                          "part": ResponseObject.outputText("")])
                open = .message(id: id)
                openText = piece
                try emitDelta("response.output_text.delta", id, piece)
            }
        case .reasoning(let piece):
            try startStream()
            reasoningText += piece
            if case .reasoning? = open {
                openText += piece
            } else {
                try closeOpen()
                let id = ResponseItems.makeID("rs")
                try emit("response.output_item.added", ["output_index": index(outputIndex), "item": ResponseObject.reasoning(id: id, text: nil)])
                open = .reasoning(id: id)
                openText = piece
            }
            if case .reasoning(let id)? = open { try emitDelta("response.reasoning_text.delta", id, piece) }
        case .toolCallStarted(let callIndex, let callID, let name):
            try startStream()
            try closeOpen()
            let id = ResponseItems.makeID("fc")
            streamedCalls[callIndex] = (id, outputIndex)
            try emit("response.output_item.added", ["output_index": index(outputIndex),
                                                     "item": ResponseObject.functionCall(id: id, callID: callID, name: name, arguments: "", status: "in_progress")])
            open = .call(index: callIndex, id: id, callID: callID, name: name)
            openText = ""
        case .toolCallArguments(let callIndex, let fragment):
            guard case .call(let openIndex, let id, _, _)? = open, openIndex == callIndex else { return }
            openText += fragment
            try emit("response.function_call_arguments.delta", ["item_id": .string(id), "output_index": index(outputIndex), "delta": .string(fragment)])
        case .finished(let completion):
            try startStream()
            try closeOpen(finalCalls: completion.toolCalls)
            for (callIndex, call) in completion.toolCalls.enumerated() where streamedCalls[callIndex] == nil {
                let id = ResponseItems.makeID("fc")
                try emit("response.output_item.added", ["output_index": index(outputIndex),
                                                         "item": ResponseObject.functionCall(id: id, callID: call.id, name: call.name, arguments: "", status: "in_progress")])
                open = .call(index: callIndex, id: id, callID: call.id, name: call.name)
                openText = call.arguments
                try closeOpen(finalCalls: completion.toolCalls)
            }
            if output.isEmpty {  // an empty answer is still one (empty) message
                let id = ResponseItems.makeID("msg")
                try emit("response.output_item.added", ["output_index": .number(0), "item": ResponseObject.message(id: id, text: nil, status: "in_progress")])
                try emit("response.content_part.added", ["item_id": .string(id), "output_index": .number(0), "content_index": .number(0), "part": ResponseObject.outputText("")])
                open = .message(id: id)
                openText = ""
                try closeOpen()
            }
            let final = ResponseObject.status(completion.stopReason)
            let response = object.json(status: final.status, output: output, usage: ResponseObject.usage(completion.usage, reasoningText: reasoningText),
                                       incompleteReason: final.incompleteReason)
            if let failure = complete(response) {
                try failStream(failure)
            } else {
                try emit(final.status == "completed" ? "response.completed" : "response.incomplete", ["response": response])
            }
            isComplete = true
        case .failed(let error):
            isComplete = true
            guard headSent else {
                status = errorFormat.status(for: error)
                try writer.respond(error, in: errorFormat)
                return
            }
            try failStream(error)
        }
        try writer.flush()
    }

    mutating func idle() throws(ClientDisconnected) {
        guard !isComplete else { return }
        try startStream()
        try writer.write(SSEEncoder.keepAlive)
        try writer.flush()
    }

    /// Once the stream has begun the status is spent: the failure is a `response.failed` event with the items so far.
    private mutating func failStream(_ error: APIError) throws(ClientDisconnected) {
        try emit("response.failed", ["response": object.json(status: "failed", output: output, error: ResponseObject.error(error))])
    }

    /// Ends the open item with its `.done` events; a call takes its final arguments from the completion when known.
    private mutating func closeOpen(finalCalls: [TurnToolCall] = []) throws(ClientDisconnected) {
        guard let item = open else { return }
        open = nil
        let text = openText
        openText = ""
        let at = index(outputIndex)
        switch item {
        case .message(let id):
            try emit("response.output_text.done", ["item_id": .string(id), "output_index": at, "content_index": .number(0), "text": .string(text), "logprobs": .array([])])
            try emit("response.content_part.done", ["item_id": .string(id), "output_index": at, "content_index": .number(0), "part": ResponseObject.outputText(text)])
            let done = ResponseObject.message(id: id, text: text, status: "completed")
            try emit("response.output_item.done", ["output_index": at, "item": done])
            output.append(done)
        case .reasoning(let id):
            try emit("response.reasoning_text.done", ["item_id": .string(id), "output_index": at, "content_index": .number(0), "text": .string(text)])
            let done = ResponseObject.reasoning(id: id, text: text)
            try emit("response.output_item.done", ["output_index": at, "item": done])
            output.append(done)
        case .call(let callIndex, let id, let callID, let name):
            let streamed = text
            let arguments = callIndex < finalCalls.count ? finalCalls[callIndex].arguments : streamed
            if arguments != streamed && streamed.isEmpty {
                try emit("response.function_call_arguments.delta", ["item_id": .string(id), "output_index": at, "delta": .string(arguments)])
            }
            try emit("response.function_call_arguments.done", ["item_id": .string(id), "output_index": at, "name": .string(name), "arguments": .string(arguments)])
            let done = ResponseObject.functionCall(id: id, callID: callID, name: name, arguments: arguments, status: "completed")
            try emit("response.output_item.done", ["output_index": at, "item": done])
            output.append(done)
        }
    }

    private mutating func startStream() throws(ClientDisconnected) {
        guard !headSent else { return }
        headSent = true
        try writer.writeHead(status: 200, headers: SSEEncoder.responseHeaders)
        let response = object.json(status: "in_progress", output: [])
        try emit("response.created", ["response": response])
        try emit("response.in_progress", ["response": response])
    }

    private func index(_ value: Int) -> JSONValue { .number(Double(value)) }

    /// A text delta of the open item: its template with `delta` and the next sequence number, the bytes `emit` would
    /// write.
    private mutating func emitDelta(_ type: String, _ id: String, _ delta: String) throws(ClientDisconnected) {
        let at = index(outputIndex)
        func fields(_ delta: String) -> [String: JSONValue] {
            var fields: [String: JSONValue] = ["item_id": .string(id), "output_index": at, "content_index": .number(0), "delta": .string(delta)]
            if type == "response.output_text.delta" { fields["logprobs"] = .array([]) }
            return fields
        }
        if deltaTemplate?.type != type || deltaTemplate?.itemID != id {
            deltaTemplate = (type, id, SSEEventTemplate(rendered: Self.event(type, fields(SSEEventTemplate.textMarker),
                                                                          sequence: .string(SSEEventTemplate.integerMarker))))
        }
        guard let template = deltaTemplate?.template else { return try emit(type, fields(delta)) }
        try writer.write(template.render(text: delta, integer: sequence))
        sequence += 1
    }

    /// One event: `fields` plus its `type` and the next `sequence_number`.
    private mutating func emit(_ type: String, _ fields: [String: JSONValue]) throws(ClientDisconnected) {
        let event = Self.event(type, fields, sequence: .number(Double(sequence)))
        sequence += 1
        try writer.write(event)
    }

    static func event(_ type: String, _ fields: [String: JSONValue], sequence: JSONValue) -> [UInt8] {
        var object = fields
        object["type"] = .string(type)
        object["sequence_number"] = sequence
        return SSEEncoder.event(type, Array(JSONValue.object(object).jsonText.utf8))
    }
}
