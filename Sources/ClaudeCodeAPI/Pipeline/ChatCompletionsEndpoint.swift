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
    /// Fired when a shutdown's drain deadline passes: in-flight turns end with a `shutting_down` error.
    let cancellation: CancellationSignal

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
            return fail(error, writer: writer)
        }
        if !chat.ignoredParameters.isEmpty {
            logger.debug("ignored parameters", ["request_id": .string(request.requestID), "params": .string(chat.ignoredParameters.joined(separator: ","))])
        }

        let clientLeft = { writer.disconnectDescriptor.map(Syscalls.peerHasHungUp) ?? false }
        switch slots.acquire(timeoutMilliseconds: configuration.queueTimeoutMilliseconds, clientLeft: clientLeft) {
        case .admitted: break
        case .refused: return fail(slots.isDraining ? .shuttingDown() : .overCapacity(retryAfterSeconds: 1), writer: writer)
        case .abandoned: return .clientGone(model: chat.model)
        }
        defer { slots.release() }
        // A client that gave up meanwhile does not get a CLI.
        if clientLeft() { return .clientGone(model: chat.model) }

        let identity = CompletionIdentity(id: "chatcmpl-\(RequestID.make())", created: Int(Date().timeIntervalSince1970), model: chat.model)
        let turn = CLIInvocation.Request(conversation: CLIConversation(messages: chat.messages), cliModel: cliModel,
                                         maxTokens: chat.maxTokens, thinkingBudget: chat.thinkingBudget)
        var outcome: RequestOutcome
        // A CLI that fails before printing anything (spawn error, crash at start-up) gets one more try on a
        // fresh process; once output has begun, never.
        switch attempt(turn, chat: chat, identity: identity, executable: executable, requestID: request.requestID, writer: writer) {
        case .completed(let result):
            outcome = result
        case .failedBeforeOutput(let reason):
            logger.warning("CLI failed before any output; retrying once", ["request_id": .string(request.requestID), "reason": .string(reason)])
            switch attempt(turn, chat: chat, identity: identity, executable: executable, requestID: request.requestID, writer: writer) {
            case .completed(let result): outcome = result
            case .failedBeforeOutput(let reason): outcome = fail(.cliFailed("it failed twice before any output: \(reason)"), writer: writer)
            }
        }
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

    private enum Attempt {
        case completed(RequestOutcome)
        /// Nothing reached the client and the CLI printed nothing: safe to try again.
        case failedBeforeOutput(String)
    }

    private func attempt(_ turn: CLIInvocation.Request, chat: ChatCompletionRequest, identity: CompletionIdentity,
                         executable: String, requestID: String, writer: any ResponseWriter) -> Attempt {
        let scratch: ScratchDirectory
        do {
            scratch = try ScratchDirectory(parent: configuration.scratchRoot)
        } catch {
            logger.error("cannot create scratch folder", ["request_id": .string(requestID), "error": .string("\(error)")])
            let detail = error is ScratchDirectory.Failure ? "\(error)" : "\(configuration.scratchRoot): \(error)"
            return .completed(fail(.scratchUnavailable(detail), writer: writer))
        }
        defer { scratch.remove() }

        let invocation = CLIInvocation(request: turn, configuration: configuration, executable: executable, scratchDirectory: scratch.path)
        // With a shared CCA_CLI_HOME the transcript lives outside the scratch folder: remove its project folder too.
        defer { if let transcript = invocation.transcript { scratch.removeOutside(transcript.path) } }
        for file in invocation.files {
            do { try scratch.write(file.contents, to: file.path) } catch {
                logger.error("cannot write the CLI's input files", ["request_id": .string(requestID), "error": .string("\(error)")])
                return .completed(fail(.scratchUnavailable("writing the conversation: \(error.localizedDescription)"), writer: writer))
            }
        }
        let process: any ChildProcess
        do {
            process = try launcher.launch(invocation.process)
        } catch let error as SystemError where error.errno == ENOENT || error.errno == EACCES {
            return .completed(fail(.cliNotInstalled(path: executable), writer: writer))
        } catch {
            return .failedBeforeOutput("cannot start the CLI: \(error)")
        }

        let translator = TurnTranslator(includeReasoning: chat.thinkingBudget != nil, stopSequences: chat.stopSequences)
        if chat.stream {
            var responder = StreamingCompletionResponder(writer: writer, identity: identity, includeUsage: chat.includeUsageInStream)
            return drive(process, invocation: invocation, translator: translator, responder: &responder, requestID: requestID, writer: writer)
        } else {
            var responder = BufferedCompletionResponder(writer: writer, identity: identity)
            return drive(process, invocation: invocation, translator: translator, responder: &responder, requestID: requestID, writer: writer)
        }
    }

    /// Runs the turn to its end, whatever ends it, and always ends the process group.
    private func drive<Responder: CompletionResponder>(_ process: any ChildProcess, invocation: CLIInvocation, translator: TurnTranslator,
                                                       responder: inout Responder,
                                                       requestID: String, writer: any ResponseWriter) -> Attempt {
        var translator = translator
        let decoder = CLIEventDecoder()
        var runner = CLITurnRunner(process: process, standardInput: invocation.standardInput,
                                   clientDescriptor: writer.disconnectDescriptor, cancellation: cancellation, clock: clock)
        let start = clock.now()
        let limits = CLITurnRunner.Limits(
            requestDeadline: start + .seconds(configuration.requestTimeoutSeconds),
            stallNanoseconds: .seconds(configuration.stallTimeoutSeconds),
            idleNanoseconds: .seconds(configuration.pingIntervalSeconds))
        var lines = 0
        var garbageLines = 0
        var clientGone = false

        let ending = runner.run(limits: limits, onLine: { line throws(ClientDisconnected) in
            lines += 1
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

        let grace = configuration.killGraceMilliseconds
        var finalEvents: [CompletionEvent] = []
        let exitStatus: Int32
        switch ending {
        case .consumerFinished where translator.finishedBeforeResult:
            // Cut at max_tokens or a stop sequence: stop the CLI before it asks upstream for more.
            writer.end()
            exitStatus = process.terminate(graceMilliseconds: 0)
        case .consumerFinished:
            writer.end()  // the client has its answer; the CLI's exit is not its concern
            exitStatus = process.finish(waitingMilliseconds: 1_000, graceMilliseconds: grace)
        case .outputEnded(let stderrTail):
            exitStatus = process.finish(waitingMilliseconds: 1_000, graceMilliseconds: grace)
            if lines == 0 && !responder.hasSentAnything {
                return .failedBeforeOutput("\(exitStatus.waitStatusDescription)\(stderrTail.isEmpty ? "" : ": \(stderrTail)")")
            }
            finalEvents = translator.outputEnded(exitDescription: exitStatus.waitStatusDescription, stderrTail: stderrTail)
        case .clientDisconnected:
            clientGone = true
            exitStatus = process.terminate(graceMilliseconds: grace)
        case .requestTimedOut:
            exitStatus = process.terminate(graceMilliseconds: grace)
            finalEvents = [.failed(.requestTimedOut(seconds: configuration.requestTimeoutSeconds))]
        case .stalled:
            exitStatus = process.terminate(graceMilliseconds: grace)
            finalEvents = [.failed(.stalled(seconds: configuration.stallTimeoutSeconds))]
        case .cancelled:
            exitStatus = process.terminate(graceMilliseconds: grace)
            finalEvents = [.failed(.shuttingDown())]
        case .failed(let error):
            exitStatus = process.terminate(graceMilliseconds: grace)
            finalEvents = [.failed(.internalError("\(error)"))]
        }
        var outcome = RequestOutcome(status: 200)
        for event in finalEvents {
            if case .failed(let error) = event { outcome.errorCode = error.code ?? error.type }
            do { try responder.send(event) } catch { clientGone = true }
        }
        if !responder.isComplete && !clientGone {
            try? responder.send(.failed(.internalError("the turn ended without an answer")))
        }
        if let error = translator.failure { outcome.errorCode = error.code ?? error.type }
        (outcome.status, outcome.finishReason, outcome.usage) = responder.outcome
        outcome.clientDisconnected = clientGone
        outcome.cliExit = exitStatus.waitStatusDescription
        if garbageLines > 0 {
            logger.warning("unparseable CLI output lines skipped", ["request_id": .string(requestID), "lines": .int(garbageLines)])
        }
        return .completed(outcome)
    }

    private func fail(_ error: APIError, writer: any ResponseWriter) -> RequestOutcome {
        try? writer.respond(error: error)
        return RequestOutcome(error: error)
    }
}
