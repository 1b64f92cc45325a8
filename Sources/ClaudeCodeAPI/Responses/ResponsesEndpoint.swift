import FoundationEssentials
import HTTPCore

/// `POST /v1/responses` (OpenAI's Responses API) as one more decoder and encoder around the shared admission and
/// turn, with stored responses: `previous_response_id` continues a stored conversation as real history;
/// `GET /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`, `DELETE /v1/responses/{id}`.
struct ResponsesEndpoint: Sendable {
    let configuration: Configuration
    let admission: TurnAdmission
    let runner: TurnRunner
    let store: (any ResponseStore)?
    let logger: Logger

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.post], ["/v1/responses", "/responses"], errorFormat: errorFormat) { context in create(context) }
        router.add([.get, .delete], ["/v1/responses/{id}", "/responses/{id}"], errorFormat: errorFormat) { context in
            context.request.method == .delete ? delete(context) : retrieve(context)
        }
        router.add([.get], ["/v1/responses/{id}/input_items", "/responses/{id}/input_items"], errorFormat: errorFormat) { context in
            inputItems(context)
        }
    }

    /// Whose stored responses a request sees: the client key's name; with keys off, every client shares one space, "".
    static func owner(of context: RequestContext) -> String { context.apiKey?.name ?? "" }

    func create(_ context: RequestContext) -> RequestOutcome {
        let owner = Self.owner(of: context)
        var request: ResponsesRequest
        let cliModel: String
        let executable: String
        var history: [JSONValue] = []
        do throws(APIError) {
            request = try ResponsesRequest.validate(admission.readJSONBody(context), maximumOutputTokens: configuration.maxOutputTokens)
            cliModel = try admission.cliModel(for: request.model)
            executable = try admission.executable()
            if let previous = request.previousResponseID {
                guard let store else { throw APIError.statelessService("previous_response_id") }
                let chain: [StoredResponse]
                do { chain = try store.chain(endingWith: previous, owner: owner) } catch { throw storeFailed(error, context) }
                guard !chain.isEmpty else { throw APIError.previousResponseNotFound(previous) }
                history = chain.flatMap { $0.inputItems + $0.outputItems }
            }
        } catch {
            return context.fail(error)
        }
        if store == nil { request.store = false }
        var messages = request.instructions.map { [ChatMessage(role: .system, content: [.text($0)])] } ?? []
        messages += ResponseItems.messages(history)
        let firstNew = messages.count
        messages += ResponseItems.messages(request.inputItems)
        do throws(APIError) {
            try ResponseItems.check(messages, firstNew: firstNew)
        } catch {
            return context.fail(error)
        }
        var names = Set(request.tools.offered.map(\.name))
        for message in messages {
            for case .toolUse(_, let name, _) in message.content where names.insert(name).inserted { request.tools.fromHistory.append(ClientTool(name: name)) }
        }
        if !request.ignoredParameters.isEmpty {
            logger.debug("ignored parameters", ["request_id": .string(context.request.requestID),
                                                "params": .string(request.ignoredParameters.joined(separator: ","))])
        }
        let object = ResponseObject(id: ResponseItems.makeID("resp"), createdAt: Int(Date().timeIntervalSince1970), model: request.model, request: request)
        let persist = persistence(for: request, object: object, owner: owner, requestID: context.request.requestID)
        var outcome = admission.withSlot(context, model: request.model) {
            let turn = TurnSpec(
                invocation: CLIInvocation.Request(conversation: CLIConversation(messages: messages), cliModel: cliModel,
                                                  maxTokens: request.maxOutputTokens, thinkingBudget: request.thinkingBudget, tools: request.tools),
                executable: executable, includeReasoning: request.thinkingBudget != nil, stopSequences: [],
                requestID: context.request.requestID, clientKey: context.apiKey?.name)
            if request.stream {
                var encoder = ResponsesStreamEncoder(writer: context.writer, object: object, complete: persist)
                let report = runner.run(turn, encoder: &encoder, writer: context.writer)
                return Self.outcome(status: encoder.status, report)
            } else {
                var encoder = ResponsesEncoder(writer: context.writer, object: object, complete: persist)
                let report = runner.run(turn, encoder: &encoder, writer: context.writer)
                return Self.outcome(status: encoder.status, report)
            }
        }
        outcome.model = request.model
        outcome.stream = request.stream
        return outcome
    }

    /// What happens to the final response before the client gets it: with `store`, one transaction; a failure to
    /// store is the answer instead (a completed response is a stored one).
    private func persistence(for request: ResponsesRequest, object: ResponseObject, owner: String, requestID: String) -> ResponsesAnswer.Completion {
        guard request.store, let store else { return { _ in nil } }
        let logger = logger
        return { response in
            do {
                try store.save(StoredResponse(id: object.id, owner: owner, createdAt: object.createdAt,
                                              previousResponseID: request.previousResponseID, response: response, inputItems: request.inputItems))
                return nil
            } catch {
                logger.error("cannot store the response", ["request_id": .string(requestID), "error": .string("\(error)")])
                return .stateUnavailable(requestID: requestID)
            }
        }
    }

    private func storeFailed(_ failure: ResponseStoreFailure, _ context: RequestContext) -> APIError {
        logger.error("cannot read stored responses", ["request_id": .string(context.request.requestID), "error": .string(failure.description)])
        return .stateUnavailable(requestID: context.request.requestID)
    }

    private func stored(_ context: RequestContext) -> Result<StoredResponse, APIError> {
        let id = context.parameters["id"] ?? ""
        guard let store else { return .failure(.responseNotFound(id)) }
        do {
            guard let found = try store.response(id: id, owner: Self.owner(of: context)) else { return .failure(.responseNotFound(id)) }
            return .success(found)
        } catch {
            return .failure(storeFailed(error, context))
        }
    }

    func retrieve(_ context: RequestContext) -> RequestOutcome {
        switch stored(context) {
        case .success(let found): return context.respond(json: found.response)
        case .failure(let error): return context.fail(error)
        }
    }

    /// OpenAI's list shape: `order` (`desc` by default, as OpenAI), `limit` (1 to 100, default 20), `after`.
    func inputItems(_ context: RequestContext) -> RequestOutcome {
        let found: StoredResponse
        switch stored(context) {
        case .success(let value): found = value
        case .failure(let error): return context.fail(error)
        }
        let query = Self.queryItems(context.request.query)
        var items = found.inputItems
        switch query["order"] ?? "desc" {
        case "desc": items.reverse()
        case "asc": break
        case let other: return context.fail(.invalidValue("order", "Invalid 'order': '\(other)'. Use 'asc' or 'desc'."))
        }
        let limit = Int(query["limit"] ?? "20") ?? -1
        guard (1...100).contains(limit) else { return context.fail(.invalidValue("limit", "'limit' must be an integer from 1 to 100.")) }
        if let after = query["after"] {
            guard let position = items.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                return context.fail(.invalidValue("after", "No input item with id '\(after)'."))
            }
            items = Array(items[(position + 1)...])
        }
        let page = Array(items.prefix(limit))
        return context.respond(json: JSONValue.object([
            "object": .string("list"), "data": .array(page),
            "first_id": page.first?["id"] ?? .null, "last_id": page.last?["id"] ?? .null,
            "has_more": .bool(items.count > page.count),
        ]))
    }

    func delete(_ context: RequestContext) -> RequestOutcome {
        let id = context.parameters["id"] ?? ""
        guard let store else { return context.fail(.responseNotFound(id)) }
        do {
            guard try store.delete(id: id, owner: Self.owner(of: context)) else { return context.fail(.responseNotFound(id)) }
        } catch {
            return context.fail(storeFailed(error, context))
        }
        return context.respond(json: JSONValue.object(["id": .string(id), "object": .string("response.deleted"), "deleted": .bool(true)]))
    }

    static func queryItems(_ query: String) -> [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.flatMap({ PercentDecoding.decode($0) }) else { continue }
            items[name] = parts.count > 1 ? PercentDecoding.decode(parts[1].replacing("+", with: " ")) : ""
        }
        return items
    }

    private static func outcome(status: Int, _ report: TurnReport) -> RequestOutcome {
        var outcome = RequestOutcome(status: status, turn: report)
        outcome.finishReason = report.completion.map { ResponseObject.status($0.stopReason).incompleteReason ?? ResponseObject.status($0.stopReason).status }
        return outcome
    }
}
