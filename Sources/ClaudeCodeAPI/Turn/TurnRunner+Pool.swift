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

        let requests = settings.controlRequests(from: cli.settings)
        var waiting = Set(requests.map { session.sendControlRequest($0) })
        var refusal: String?
        let setupLimits = ProcessPoller.Limits(deadline: min(limits.deadline, clock.now() + Self.setupTimeoutNanoseconds),
                                               stallNanoseconds: Self.setupTimeoutNanoseconds, idleNanoseconds: limits.idleNanoseconds)
        // Lines the CLI printed while idle (`system/ui_invalidate`...) are read and passed over here, or by the turn.
        let ending = requests.isEmpty ? .consumerFinished : session.run(limits: setupLimits, watch: watch, onEvent: { event throws(ClientDisconnected) in
            guard case .controlResponse(let answer) = event, waiting.remove(answer.requestID) != nil else { return .more }
            if !answer.isSuccess, refusal == nil { refusal = answer.error ?? "refused" }
            return waiting.isEmpty ? .done : .more
        }, onIdle: { () throws(ClientDisconnected) in try encoder.idle() })
        let grace = configuration.killGraceMilliseconds
        switch ending {
        case .consumerFinished where refusal == nil:
            break
        case .clientDisconnected:
            delivery.report.clientDisconnected = true
            delivery.report.cliExit = session.end(.terminate(graceMilliseconds: grace))
            pool.release(cli)
            return .completed(delivery.report)
        default:
            logger.warning("pool: a pooled CLI did not take its settings; starting cold",
                           ["request_id": .string(turn.requestID), "ending": .string("\(ending)"),
                            "refusal": .string(LogRedaction.redact(refusal ?? "")), "stderr": .string(LogRedaction.redact(session.stderrText))])
            session.end(.terminate(graceMilliseconds: grace))
            pool.release(cli)
            return nil
        }
        cli.settings = settings.applied(over: cli.settings)

        let handshake = turn.invocation.conversation.identifiedHandshake()
        return drive(session, input: .handshake(handshake.lines), tools: [], pooled: PooledTurn(cli: cli, rewindTargets: handshake.userLineIDs),
                     limits: limits, turn: turn, encoder: &encoder, delivery: &delivery, writer: writer)
    }

    /// How long a pooled CLI may take to answer its settings, or a rewind.
    static var setupTimeoutNanoseconds: UInt64 { 10_000_000_000 }

    /// Resets a pooled CLI after its turn: `rewind_conversation` to each of the turn's user lines, newest first (a
    /// jump straight back is refused as `stale_target`). True when every rewind answered `rewound: true`.
    func reset(_ pooled: PooledTurn) -> Bool {
        let session = pooled.cli.session
        let limits = ProcessPoller.Limits(deadline: clock.now() + Self.setupTimeoutNanoseconds, stallNanoseconds: Self.setupTimeoutNanoseconds,
                                          idleNanoseconds: Self.setupTimeoutNanoseconds)
        for target in pooled.rewindTargets.reversed() {
            let request = JSONValue.object(["subtype": .string("rewind_conversation"), "target_message_uuid": .string(target)])
            switch session.request(request, limits: limits) {
            case .success(let answer) where answer.isSuccess && answer.response?["rewound"] == .bool(true):
                continue
            case .success(let answer):
                logger.warning("pool: a rewind was refused; the CLI is ended", ["error": .string(answer.error ?? ""),
                                                                                 "reason": .string(answer.response?["reason"]?.stringValue ?? "")])
                return false
            case .failure(let failure):
                logger.warning("pool: a rewind got no answer; the CLI is ended", ["ending": .string("\(failure.ending)")])
                return false
            }
        }
        return true
    }
}
