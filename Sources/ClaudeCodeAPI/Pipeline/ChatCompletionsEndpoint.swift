import Foundation

/// `POST /v1/chat/completions`: validate, take a CLI slot, run the CLI in a scratch folder, translate its events,
/// answer as SSE or JSON, and leave nothing behind.
public struct ChatCompletionsEndpoint: Sendable {
    let configuration: Configuration
    let launcher: any ProcessLauncher
    let clock: any MonotonicClock
    let slots: CLISlots
    let cli: CLIProbe
    let logger: Logger

    public func handle(_ request: HTTPRequest, body: inout some RequestBodyReader, writer: any ResponseWriter) -> RequestOutcome {
        let chat: ChatCompletionRequest
        let cliModel: String
        let executable: String
        do throws(APIError) {
            chat = try readRequest(request, body: &body)
            guard let model = configuration.models.cliModel(for: chat.model) else { throw .modelNotFound(chat.model) }
            cliModel = model
            guard let path = cli.executablePath else { throw .cliNotInstalled(path: cli.displayName) }
            executable = path
        } catch {
            try? writer.respond(error: error)
            return RequestOutcome(error: error)
        }
        if !chat.ignoredParameters.isEmpty {
            logger.debug("ignored parameters", ["request_id": .string(request.requestID), "params": .string(chat.ignoredParameters.joined(separator: ","))])
        }

        guard slots.acquire(timeoutMilliseconds: configuration.queueTimeoutMilliseconds) else {
            let error: APIError = slots.isDraining ? .shuttingDown() : .overCapacity(retryAfterSeconds: 1)
            try? writer.respond(error: error)
            return RequestOutcome(error: error)
        }
        defer { slots.release() }

        var outcome = run(chat, cliModel: cliModel, executable: executable, requestID: request.requestID, writer: writer)
        outcome.model = chat.model
        outcome.stream = chat.stream
        return outcome
    }

    private func readRequest(_ request: HTTPRequest, body: inout some RequestBodyReader) throws(APIError) -> ChatCompletionRequest {
        if let length = request.contentLength, length > configuration.maxBodyBytes {
            throw .bodyTooLarge(limit: configuration.maxBodyBytes)
        }
        let bytes = try body.readAll(limit: configuration.maxBodyBytes)
        guard !bytes.isEmpty else { throw .invalidJSON("the body is empty") }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch let JSONValue.NestingError.tooDeep(depth) {
            throw .invalidJSON("nested deeper than \(depth) levels")
        } catch {
            throw .invalidJSON("it is not valid JSON")
        }
        return try ChatCompletionRequest.validate(json, maximumOutputTokens: configuration.maxOutputTokens)
    }

    private func run(_ chat: ChatCompletionRequest, cliModel: String, executable: String, requestID: String,
                     writer: any ResponseWriter) -> RequestOutcome {
        let identity = CompletionIdentity(id: "chatcmpl-\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())",
                                          created: Int(Date().timeIntervalSince1970), model: chat.model)
        let scratch: ScratchDirectory
        do {
            scratch = try ScratchDirectory(parent: configuration.scratchRoot)
        } catch {
            logger.error("cannot create scratch folder", ["request_id": .string(requestID), "error": .string("\(error)")])
            let apiError = APIError.internalError("cannot create a scratch folder (\(error))")
            try? writer.respond(error: apiError)
            return RequestOutcome(error: apiError)
        }
        defer { scratch.remove() }

        let invocation = CLIInvocation(
            request: .init(conversation: CLIConversation(messages: chat.messages), cliModel: cliModel, maxTokens: chat.maxTokens),
            configuration: configuration, executable: executable, scratchDirectory: scratch.path)
        let process: any ChildProcess
        do {
            if let transcript = invocation.transcript { try scratch.write(transcript.contents, to: transcript.path) }
            process = try launcher.launch(invocation.process)
        } catch let error as SystemError where error.errno == ENOENT || error.errno == EACCES {
            let apiError = APIError.cliNotInstalled(path: executable)
            try? writer.respond(error: apiError)
            return RequestOutcome(error: apiError)
        } catch {
            logger.error("cannot start the CLI", ["request_id": .string(requestID), "error": .string("\(error)")])
            let apiError = APIError.internalError("cannot start the Claude CLI (\(error))")
            try? writer.respond(error: apiError)
            return RequestOutcome(error: apiError)
        }

        if chat.stream {
            var responder = StreamingCompletionResponder(writer: writer, identity: identity, includeUsage: chat.includeUsageInStream)
            var outcome = drive(process, invocation: invocation, responder: &responder, requestID: requestID, writer: writer)
            (outcome.status, outcome.finishReason, outcome.usage) = responder.outcome
            return outcome
        } else {
            var responder = BufferedCompletionResponder(writer: writer, identity: identity)
            var outcome = drive(process, invocation: invocation, responder: &responder, requestID: requestID, writer: writer)
            (outcome.status, outcome.finishReason, outcome.usage) = responder.outcome
            return outcome
        }
    }

    /// Runs the turn to its end, whatever ends it, and always ends the process group.
    private func drive(_ process: any ChildProcess, invocation: CLIInvocation, responder: inout some CompletionResponder,
                       requestID: String, writer: any ResponseWriter) -> RequestOutcome {
        var translator = TurnTranslator()
        let decoder = CLIEventDecoder()
        var runner = CLITurnRunner(process: process, standardInput: invocation.standardInput,
                                   clientDescriptor: writer.disconnectDescriptor, clock: clock)
        let start = clock.now()
        let limits = CLITurnRunner.Limits(
            requestDeadline: start + .seconds(configuration.requestTimeoutSeconds),
            stallNanoseconds: .seconds(configuration.stallTimeoutSeconds),
            idleNanoseconds: .seconds(configuration.pingIntervalSeconds))
        var garbageLines = 0
        var clientGone = false

        let ending = runner.run(limits: limits, onLine: { line throws(ClientDisconnected) in
            let event: CLIEvent
            do { event = try decoder.decode(line: line) } catch {
                garbageLines += 1
                return .more
            }
            for output in translator.consume(event) { try responder.send(output) }
            return translator.isFinished ? .done : .more
        }, onIdle: { () throws(ClientDisconnected) in
            try responder.idle()
        })

        var outcome = RequestOutcome(status: 200)
        var finalEvents: [CompletionEvent] = []
        let exitStatus: Int32
        switch ending {
        case .consumerFinished:
            writer.end()
            exitStatus = process.finish(waitingMilliseconds: 1_000, graceMilliseconds: configuration.killGraceMilliseconds)
        case .outputEnded(let stderrTail):
            exitStatus = process.finish(waitingMilliseconds: 1_000, graceMilliseconds: configuration.killGraceMilliseconds)
            finalEvents = translator.outputEnded(exitDescription: exitStatus.waitStatusDescription, stderrTail: stderrTail)
        case .clientDisconnected:
            clientGone = true
            exitStatus = process.terminate(graceMilliseconds: configuration.killGraceMilliseconds)
        case .requestTimedOut:
            exitStatus = process.terminate(graceMilliseconds: configuration.killGraceMilliseconds)
            finalEvents = [.failed(.requestTimedOut(seconds: configuration.requestTimeoutSeconds))]
        case .stalled:
            exitStatus = process.terminate(graceMilliseconds: configuration.killGraceMilliseconds)
            finalEvents = [.failed(.stalled(seconds: configuration.stallTimeoutSeconds))]
        case .failed(let error):
            exitStatus = process.terminate(graceMilliseconds: configuration.killGraceMilliseconds)
            finalEvents = [.failed(.internalError("\(error)"))]
        }
        for event in finalEvents {
            if case .failed(let error) = event { outcome.errorCode = error.code ?? error.type }
            do { try responder.send(event) } catch { clientGone = true }
        }
        if !responder.isComplete && !clientGone {
            try? responder.send(.failed(.internalError("the turn ended without an answer")))
        }
        outcome.clientDisconnected = clientGone
        outcome.cliExit = exitStatus.waitStatusDescription
        if garbageLines > 0 {
            logger.warning("unparseable CLI output lines skipped", ["request_id": .string(requestID), "lines": .int(garbageLines)])
        }
        return outcome
    }
}
