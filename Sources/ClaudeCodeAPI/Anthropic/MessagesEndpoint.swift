import FoundationEssentials

/// `POST /v1/messages`: Anthropic's Messages API as one more decoder and encoder around the shared admission and turn.
/// `POST /v1/messages/count_tokens` is a clear 404: the CLI cannot count tokens without running a model turn.
struct MessagesEndpoint: Sendable {
    let configuration: Configuration
    let admission: TurnAdmission
    let runner: TurnRunner
    let logger: Logger

    func register(in router: inout Router) {
        let format = AnthropicErrorFormat()
        router.add([.post], ["/v1/messages", "/messages"], errorFormat: format) { context in handle(context) }
        router.add([.post], ["/v1/messages/count_tokens", "/messages/count_tokens"], errorFormat: format) { context in
            context.fail(APIError(status: 404, kind: .notFound,
                                  message: "count_tokens is not available: the Claude CLI cannot count tokens without running a model turn.",
                                  code: .unknownURL))
        }
    }

    func handle(_ context: RequestContext) -> RequestOutcome {
        let request: MessagesRequest
        let cliModel: String
        let executable: String
        do throws(APIError) {
            request = try MessagesRequest.validate(admission.readJSONBody(context), maximumOutputTokens: configuration.maxOutputTokens)
            cliModel = try admission.cliModel(for: request.model)
            executable = try admission.executable()
        } catch {
            return context.fail(error)
        }
        if !request.ignoredParameters.isEmpty {
            logger.debug("ignored parameters", ["request_id": .string(context.request.requestID),
                                                "params": .string(request.ignoredParameters.joined(separator: ","))])
        }
        var outcome = admission.withSlot(context, model: request.model) { () -> RequestOutcome in
            let turn = TurnSpec(
                invocation: CLIInvocation.Request(conversation: CLIConversation(messages: request.messages), cliModel: cliModel,
                                                  maxTokens: request.maxTokens, thinkingBudget: request.thinkingBudget, tools: request.tools),
                executable: executable, includeReasoning: request.thinkingBudget != nil, stopSequences: request.stopSequences,
                requestID: context.request.requestID, clientKey: context.apiKey?.name)
            return runner.respond(turn, streaming: request.stream, writer: context.writer,
                                  streamingEncoder: { MessagesStreamEncoder(writer: context.writer, model: request.model) },
                                  bufferedEncoder: { MessagesEncoder(writer: context.writer, model: request.model) },
                                  finishReason: { AnthropicMessage.stop($0).reason })
        }
        outcome.model = request.model
        outcome.stream = request.stream
        return outcome
    }
}
