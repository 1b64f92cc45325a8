import FoundationEssentials
import Glibc
import HTTPCore

/// What one model turn needs, whatever API surface asked for it.
public struct TurnSpec: Sendable {
    /// The conversation and settings that shape the CLI launch.
    public var invocation: CLIInvocation.Request
    /// The CLI's absolute path.
    public var executable: String
    /// Whether thinking is streamed to the client (as reasoning).
    public var includeReasoning: Bool
    /// Stop sequences the service applies to the text.
    public var stopSequences: [String]
    public var requestID: String
    /// The name of the client key the turn runs under (nil when the service has no keys): a pooled CLI serves one key.
    public var clientKey: String?

    public init(invocation: CLIInvocation.Request, executable: String, includeReasoning: Bool, stopSequences: [String], requestID: String,
                clientKey: String? = nil) {
        self.invocation = invocation
        self.executable = executable
        self.includeReasoning = includeReasoning
        self.stopSequences = stopSequences
        self.requestID = requestID
        self.clientKey = clientKey
    }
}

/// How a turn went, for the access log and the counters.
public struct TurnReport: Sendable {
    /// How the CLI ended (`notStarted` when none ran).
    public var cliExit: ProcessExit = .notStarted
    public var clientDisconnected = false
    /// The error the turn ended with, whether or not the client could be told.
    public var failure: APIError?
    public var completion: TurnCompletion?
    /// When the first text (or reasoning) reached the encoder, on the runner's clock: time to first token.
    public var firstOutputAt: UInt64?
    /// Attempts whose CLI failed before printing anything (could not start, or crashed at start-up).
    public var startFailures = 0
    /// How the turn's CLI was started; nil when none ran.
    public var start: CLIStart?
}

/// Where a turn's CLI came from.
public enum CLIStart: String, Sendable {
    /// Started for the turn.
    case cold
    /// A pre-started CLI of the pool, never used before.
    case pooled
    /// A pooled CLI that had served earlier turns of the same key and was reset.
    case reused
}

/// Runs one turn: on a pooled CLI when the pool has one that fits (see `TurnRunner+Pool`), else on a fresh CLI: a scratch
/// folder, the CLI's input files, the launch, the session driven to its end through the translator into the surface's
/// encoder, the teardown that fits the ending, and nothing left behind. A CLI that fails before printing anything gets
/// one more try on a fresh process; once output has begun, never.
public struct TurnRunner: Sendable {
    let configuration: Configuration
    let launcher: any ProcessLauncher
    let clock: any MonotonicClock
    let logger: Logger
    /// Fired when a shutdown's drain deadline passes: in-flight turns end with a `shutting_down` error.
    let cancellation: CancellationSignal
    /// The scratch folder's free-space check (a seam for tests).
    var freeSpace: ScratchDirectory.FreeSpaceProbe = ScratchDirectory.systemFreeSpace
    /// Pre-started CLIs; nil when the pool is off.
    var pool: CLIPool?

    public func run<Encoder: TurnEncoder>(_ turn: TurnSpec, encoder: inout Encoder, writer: any ResponseWriter) -> TurnReport {
        switch attempt(turn, encoder: &encoder, writer: writer, mayUsePool: true) {
        case .completed(let report):
            return report
        case .failedBeforeOutput(let reason):
            logger.warning("CLI failed before any output; retrying once", ["request_id": .string(turn.requestID),
                                                                           "reason": .string(LogRedaction.redact(reason))])
            switch attempt(turn, encoder: &encoder, writer: writer, mayUsePool: false) {
            case .completed(var report):
                report.startFailures = 1
                return report
            case .failedBeforeOutput(let reason):
                logger.error("CLI failed twice before any output", ["request_id": .string(turn.requestID),
                                                                    "reason": .string(LogRedaction.redact(reason))])
                var delivery = Delivery(clock: clock)
                delivery.report.startFailures = 2
                delivery.send(.failed(.cliFailed(requestID: turn.requestID)), to: &encoder)
                return delivery.report
            }
        }
    }

    enum Attempt {
        case completed(TurnReport)
        /// Nothing reached the client and the CLI printed nothing: safe to try again.
        case failedBeforeOutput(String)
    }

    private func attempt<Encoder: TurnEncoder>(_ turn: TurnSpec, encoder: inout Encoder, writer: any ResponseWriter, mayUsePool: Bool) -> Attempt {
        if mayUsePool, let pool, let attempt = attemptPooled(turn, pool: pool, encoder: &encoder, writer: writer) {
            return attempt
        }
        pool?.beginColdTurn()
        defer { pool?.endColdTurn() }
        var delivery = Delivery(clock: clock)
        let scratch: ScratchDirectory
        do {
            scratch = try ScratchDirectory(parent: configuration.scratchRoot, freeSpace: freeSpace)
        } catch {
            logger.error("cannot create scratch folder", ["request_id": .string(turn.requestID), "folder": .string(configuration.scratchRoot),
                                                          "error": .string("\(error)")])
            delivery.send(.failed(.scratchUnavailable(requestID: turn.requestID)), to: &encoder)
            return .completed(delivery.report)
        }
        defer { scratch.remove() }

        let invocation = CLIInvocation(request: turn.invocation, configuration: configuration, executable: turn.executable,
                                       scratchDirectory: scratch.path)
        for file in invocation.files {
            do { try scratch.write(file.contents, to: file.path) } catch {
                logger.error("cannot write the CLI's input files", ["request_id": .string(turn.requestID), "error": .string("\(error)")])
                delivery.send(.failed(.scratchUnavailable(requestID: turn.requestID)), to: &encoder)
                return .completed(delivery.report)
            }
        }
        let session: CLISession
        do {
            session = try CLISession.launch(invocation.process, launcher: launcher, clock: clock)
        } catch where error.errno == ENOENT || error.errno == EACCES {
            logger.error("cannot run the CLI", ["request_id": .string(turn.requestID), "cli": .string(turn.executable), "error": .string("\(error)")])
            delivery.send(.failed(.cliNotInstalled()), to: &encoder)
            return .completed(delivery.report)
        } catch {
            return .failedBeforeOutput("cannot start the CLI: \(error)")
        }
        delivery.report.start = .cold
        let limits = turnLimits()
        return drive(session, input: invocation.input, tools: invocation.tools, pooled: nil, limits: limits, turn: turn,
                     encoder: &encoder, delivery: &delivery, writer: writer)
    }

    /// The turn's deadlines, from now.
    func turnLimits() -> ProcessPoller.Limits {
        ProcessPoller.Limits(deadline: clock.now() + .seconds(configuration.requestTimeoutSeconds),
                             stallNanoseconds: .seconds(configuration.stallTimeoutSeconds),
                             idleNanoseconds: .seconds(configuration.pingIntervalSeconds))
    }

    /// A pooled CLI's part in a turn: what to rewind to afterwards (its user lines' ids, oldest first).
    struct PooledTurn {
        let cli: PooledCLI
        let rewindTargets: [String]
    }

    /// Runs the turn to its end, whatever ends it. A cold CLI's process group is always ended; a pooled one is reset
    /// and checked in after a clean finish, and ended and released otherwise.
    func drive<Encoder: TurnEncoder>(_ session: CLISession, input: CLIInvocation.Input, tools: [ClientTool], pooled: PooledTurn?,
                                     limits: ProcessPoller.Limits, turn: TurnSpec, encoder: inout Encoder,
                                     delivery: inout Delivery, writer: any ResponseWriter) -> Attempt {
        var translator = TurnTranslator(includeReasoning: turn.includeReasoning, stopSequences: turn.stopSequences)
        var policy = ToolOutputPolicy(turn.invocation.tools)
        let bridge = ToolBridge(tools: tools)
        // With client tools the CLI asks the MCP server (us) over the control channel at any time, and a pooled CLI
        // serves the next turn: stdin stays open.
        let keepsInputOpen = !tools.isEmpty || pooled != nil
        let linesBefore = session.linesRead
        let skippedBefore = (unparseable: session.unparseableLines, dropped: session.poller.droppedLines)
        func answerControl(_ event: CLIEvent) {
            guard case .controlRequest(let request) = event else { return }
            switch bridge.answer(request) {
            case .respond(let response): session.sendControlResponse(to: request.requestID, response)
            case .refuse(let message): session.sendControlError(to: request.requestID, message: message)
            case .hold: break
            }
        }
        let watch = ProcessPoller.Watch(clientDescriptor: writer.disconnectDescriptor, cancellation: cancellation)
        // The turn's deadline also holds while a write to a slow client is blocked.
        writer.writeDeadline = limits.deadline

        // Prior turns go in one at a time, each user line acknowledged by a result, before the prompt.
        var ending: ProcessPoller.Ending?
        switch input {
        case .line(let line):
            session.send(line: line)
        case .handshake(let lines):
            for line in lines where ending == nil {
                switch line {
                case .priorUser(let bytes):
                    session.send(line: bytes)
                    let acknowledged = session.run(limits: limits, watch: watch, onEvent: { event throws(ClientDisconnected) in
                        answerControl(event)
                        if case .result = event { return .done }
                        return .more
                    }, onIdle: { () throws(ClientDisconnected) in try encoder.idle() })
                    if acknowledged != .consumerFinished { ending = acknowledged }
                case .priorAssistant(let bytes), .prompt(let bytes):
                    session.send(line: bytes)
                }
            }
        }
        if !keepsInputOpen { session.closeInput() }

        var batch = OutputBatch(writer: writer)
        var finalEnding = ending ?? session.run(limits: limits, watch: watch, onEvent: { event throws(ClientDisconnected) in
            batch.eventArrived()
            answerControl(event)
            for output in translator.consume(event) {
                for shown in policy.filter(output) { try delivery.sendOrThrow(shown, to: &encoder) }
            }
            return translator.isFinished ? .done : .more
        }, onEventsRead: { () throws(ClientDisconnected) in
            try batch.close()
        }, onIdle: { () throws(ClientDisconnected) in
            try encoder.idle()
        })
        // A run that ended within a read (the turn is over, or the client left) still owes that read's flush.
        do { try batch.close() } catch { finalEnding = .clientDisconnected }
        defer { logSkippedOutput(of: session, since: skippedBefore, requestID: turn.requestID) }

        let grace = configuration.killGraceMilliseconds
        var finalEvents: [TurnEvent] = []
        switch finalEnding {
        case .consumerFinished where translator.finishedBeforeResult:
            // Cut at max_tokens, a stop sequence or a tool call: SIGKILL the group at once, before the CLI can ask
            // upstream for more (between a tool call and its follow-up request SIGTERM does not stop it).
            writer.end()
            delivery.report.cliExit = session.end(.kill)
        case .consumerFinished:
            writer.end()  // the client has its answer; the CLI's exit is not its concern
            if let pooled, let pool, delivery.report.failure == nil {
                pool.beginReturn(pooled.cli)
                if reset(pooled) {
                    delivery.report.cliExit = .keptWarm
                    pool.checkIn(pooled.cli)
                    return .completed(delivery.report)
                }
            }
            session.closeInput()
            delivery.report.cliExit = session.end(.exitByItself(waitingMilliseconds: 1_000, graceMilliseconds: grace))
        case .outputEnded:
            delivery.report.cliExit = session.end(.exitByItself(waitingMilliseconds: 1_000, graceMilliseconds: grace))
            let stderr = session.stderrText
            if session.linesRead == linesBefore && !encoder.hasSentAnything {
                if let pooled { pool?.release(pooled.cli) }
                return .failedBeforeOutput("\(delivery.report.cliExit)\(stderr.isEmpty ? "" : ": \(stderr)")")
            }
            if !translator.isFinished {
                logger.error("CLI ended before finishing the answer", ["request_id": .string(turn.requestID),
                    "cli_exit": .string("\(delivery.report.cliExit)"), "stderr": .string(LogRedaction.redact(stderr))])
            }
            finalEvents = translator.outputEnded(failingWith: .cliFailed(requestID: turn.requestID))
        case .clientDisconnected:
            delivery.report.clientDisconnected = true
            delivery.report.cliExit = session.end(.terminate(graceMilliseconds: grace))
        case .deadlinePassed:
            delivery.report.cliExit = session.end(.terminate(graceMilliseconds: grace))
            finalEvents = [.failed(.requestTimedOut(seconds: configuration.requestTimeoutSeconds))]
        case .stalled:
            delivery.report.cliExit = session.end(.terminate(graceMilliseconds: grace))
            finalEvents = [.failed(.stalled(seconds: configuration.stallTimeoutSeconds))]
        case .cancelled:
            delivery.report.cliExit = session.end(.terminate(graceMilliseconds: grace))
            finalEvents = [.failed(.shuttingDown())]
        case .failed(let error):
            delivery.report.cliExit = session.end(.terminate(graceMilliseconds: grace))
            logger.error("polling the CLI failed", ["request_id": .string(turn.requestID), "error": .string("\(error)")])
            finalEvents = [.failed(.internalError(requestID: turn.requestID))]
        }
        if let pooled { pool?.release(pooled.cli) }
        for event in finalEvents { delivery.send(event, to: &encoder) }
        if !encoder.isComplete && !delivery.report.clientDisconnected {
            logger.error("the turn ended without an answer", ["request_id": .string(turn.requestID)])
            delivery.send(.failed(.internalError(requestID: turn.requestID)), to: &encoder)
        }
        return .completed(delivery.report)
    }

    /// Logs the lines this turn skipped (a pooled CLI's counts run on from its earlier turns).
    private func logSkippedOutput(of session: CLISession, since before: (unparseable: Int, dropped: Int), requestID: String) {
        let unparseable = session.unparseableLines - before.unparseable
        let dropped = session.poller.droppedLines - before.dropped
        if unparseable > 0 {
            logger.warning("unparseable CLI output lines skipped", ["request_id": .string(requestID), "lines": .int(unparseable)])
        }
        if dropped > 0 {
            logger.warning("over-long CLI output lines dropped", ["request_id": .string(requestID), "lines": .int(dropped)])
        }
    }
}

/// Hands events to the encoder and notes what the report needs: the first failure, the completion, a vanished client,
/// and when the first token reached the encoder (every API surface's time to first token is measured here).
struct Delivery {
    let clock: any MonotonicClock
    var report = TurnReport()

    mutating func sendOrThrow<Encoder: TurnEncoder>(_ event: TurnEvent, to encoder: inout Encoder) throws(ClientDisconnected) {
        var isOutput = false
        switch event {
        case .failed(let error): if report.failure == nil { report.failure = error }
        case .finished(let completion): report.completion = completion
        case .text(let text), .reasoning(let text): isOutput = !text.isEmpty
        case .started, .toolCallStarted, .toolCallArguments: break
        }
        do { try encoder.send(event) } catch {
            report.clientDisconnected = true
            throw error
        }
        if isOutput && report.firstOutputAt == nil { report.firstOutputAt = clock.now() }
    }

    mutating func send<Encoder: TurnEncoder>(_ event: TurnEvent, to encoder: inout Encoder) {
        try? sendOrThrow(event, to: &encoder)
    }
}
