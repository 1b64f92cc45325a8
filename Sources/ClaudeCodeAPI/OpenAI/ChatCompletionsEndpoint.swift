import FoundationEssentials
import HTTPCore

/// `POST /v1/chat/completions`: OpenAI's request decoded and validated, then the shared admission and turn running,
/// rendered by the chat-completion encoders (SSE chunks or one object).
struct ChatCompletionsEndpoint: Sendable {
    let configuration: Configuration
    let admission: TurnAdmission
    let runner: TurnRunner
    let logger: Logger

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.post], ["/v1/chat/completions", "/chat/completions"], errorFormat: errorFormat) { context in handle(context) }
    }

    func handle(_ context: RequestContext) -> RequestOutcome {
        let chat: ChatCompletionRequest
        let cliModel: String
        let executable: String
        do throws(APIError) {
            chat = try ChatCompletionRequest.validate(admission.readJSONBody(context), maximumOutputTokens: configuration.maxOutputTokens)
            cliModel = try admission.cliModel(for: chat.model)
            executable = try admission.executable()
        } catch {
            return context.fail(error)
        }
        if !chat.ignoredParameters.isEmpty {
            logger.debug("ignored parameters", ["request_id": .string(context.request.requestID),
                                                "params": .string(chat.ignoredParameters.joined(separator: ","))])
        }
        var outcome = admission.withSlot(context, model: chat.model) { () -> RequestOutcome in
            let identity = CompletionIdentity(id: "chatcmpl-\(RequestID.make())", created: Int(Date().timeIntervalSince1970), model: chat.model)
            let turn = TurnSpec(
                invocation: CLIInvocation.Request(conversation: CLIConversation(messages: chat.messages), cliModel: cliModel,
                                                  maxTokens: chat.maxTokens, thinkingBudget: chat.thinkingBudget, tools: chat.tools),
                executable: executable, includeReasoning: chat.thinkingBudget != nil, stopSequences: chat.stopSequences,
                requestID: context.request.requestID, clientKey: context.apiKey?.name)
            return runner.respond(turn, streaming: chat.stream, writer: context.writer,
                streamingEncoder: { ChatCompletionStreamEncoder(writer: context.writer, identity: identity, includeUsage: chat.includeUsageInStream,
                                                                legacyFunctions: chat.legacyFunctions) },
                bufferedEncoder: { ChatCompletionEncoder(writer: context.writer, identity: identity, legacyFunctions: chat.legacyFunctions) },
                finishReason: { FinishReason($0, legacyFunctions: chat.legacyFunctions).rawValue })
        }
        outcome.model = chat.model
        outcome.stream = chat.stream
        return outcome
    }
}
