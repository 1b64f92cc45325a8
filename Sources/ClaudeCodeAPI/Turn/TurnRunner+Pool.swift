import HTTPCore

extension TurnRunner {
    /// Whether a turn may run on a pooled CLI: one whose upstream request the pool can make exactly what a cold launch
    /// sends. Turns with client tools start cold (a call ends the process, and the tool server is a launch flag), and
    /// so do histories whose handshake would differ from the cold transcript (see `handshakeMatchesTranscript`).
    static func canUsePool(_ request: CLIInvocation.Request) -> Bool {
        request.tools.declared.isEmpty && request.conversation.handshakeMatchesTranscript
    }

    /// Runs the turn on a pooled CLI: its settings over the control channel (every answer waited for: a refused one
    /// would change the upstream request), the conversation as handshake lines, the turn driven like a cold one.
    /// Returns nil when the turn should start cold instead: nothing fits, or the CLI refused its settings (nothing of
    /// the answer was sent then).
    func attemptPooled<Encoder: TurnEncoder>(_ turn: TurnSpec, pool: CLIPool, encoder: inout Encoder, writer: any ResponseWriter) -> Attempt? {
        guard Self.canUsePool(turn.invocation) else { return nil }
        let settings = WarmTurnSettings(turn.invocation)
        guard let cli = pool.checkout(owner: turn.clientKey ?? "", systemPrompt: settings.systemPrompt, executable: turn.executable) else {
            return nil
        }
        var delivery = Delivery(clock: clock)
        delivery.report.start = cli.uses > 1 ? .reused : .pooled
        let session = cli.session
        let limits = turnLimits()
        let watch = ProcessPoller.Watch(clientDescriptor: writer.disconnectDescriptor, cancellation: cancellation)
        writer.writeDeadline = limits.deadline

        let setupLimits = ProcessPoller.Limits(deadline: min(limits.deadline, clock.now() + Self.setupTimeoutNanoseconds),
                                               stallNanoseconds: Self.setupTimeoutNanoseconds, idleNanoseconds: limits.idleNanoseconds)
        // Lines the CLI printed while idle (`system/ui_invalidate`...) are read and passed over here, or by the turn.
        let answers = session.requests(settings.controlRequests(from: cli.settings), limits: setupLimits, watch: watch,
                                       onIdle: { () throws(ClientDisconnected) in try encoder.idle() })
        let grace = configuration.killGraceMilliseconds
        switch answers {
        case .success(let answers) where answers.allSatisfy(\.isSuccess):
            break
        case .failure(let failure) where failure.ending == .clientDisconnected:
            delivery.report.clientDisconnected = true
            delivery.report.cliExit = session.end(.terminate(graceMilliseconds: grace))
            pool.release(cli)
            return .completed(delivery.report)
        case .success(let answers):
            return startCold(after: "refused: \(answers.first { !$0.isSuccess }?.error ?? "")", cli, pool: pool, turn: turn)
        case .failure(let failure):
            return startCold(after: "\(failure.ending)", cli, pool: pool, turn: turn)
        }
        cli.settings = settings.applied(over: cli.settings)

        let handshake = turn.invocation.conversation.identifiedHandshake()
        return drive(session, input: .handshake(handshake.lines), tools: [], pooled: PooledTurn(cli: cli, rewindTargets: handshake.userLineIDs),
                     limits: limits, turn: turn, encoder: &encoder, delivery: &delivery, writer: writer)
    }

    /// How long a pooled CLI may take to answer its settings, or a rewind.
    static var setupTimeoutNanoseconds: UInt64 { 10_000_000_000 }

    /// A pooled CLI that did not take its settings is ended; nil: the turn starts cold (nothing was sent to the client).
    private func startCold(after problem: String, _ cli: PooledCLI, pool: CLIPool, turn: TurnSpec) -> Attempt? {
        logger.warning("pool: a pooled CLI did not take its settings; starting cold",
                       ["request_id": .string(turn.requestID), "problem": .string(LogRedaction.redact(problem)),
                        "stderr": .string(LogRedaction.redact(cli.session.stderrText))])
        cli.session.end(.terminate(graceMilliseconds: configuration.killGraceMilliseconds))
        pool.release(cli)
        return nil
    }

    /// Resets a pooled CLI after its turn: a rewind to each of the turn's user lines, newest first (a jump straight
    /// back can be refused as `stale_target`). True when every one rewound.
    func reset(_ pooled: PooledTurn) -> Bool {
        let limits = ProcessPoller.Limits(deadline: clock.now() + Self.setupTimeoutNanoseconds, stallNanoseconds: Self.setupTimeoutNanoseconds,
                                          idleNanoseconds: Self.setupTimeoutNanoseconds)
        for target in pooled.rewindTargets.reversed() {
            let outcome = pooled.cli.session.rewind(to: target, limits: limits)
            guard outcome == .rewound else {
                let what = if case .noAnswer = outcome { "pool: a rewind got no answer; the CLI is ended" } else { "pool: a rewind was refused; the CLI is ended" }
                logger.warning(what, ["outcome": .string("\(outcome)")])
                return false
            }
        }
        return true
    }
}
