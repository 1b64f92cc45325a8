import Foundation

/// The whole HTTP API, independent of the transport: routes a request, answers it, and logs one line for it.
public final class APIApplication: Sendable {
    public let configuration: Configuration
    public let slots: CLISlots
    let logger: Logger
    let clock: any MonotonicClock
    let cli: CLIProbe
    let chatCompletions: ChatCompletionsEndpoint
    private let cancellation: CancellationSignal
    let stats = ServiceStats()
    let startedAt = Date()

    public init(configuration: Configuration, launcher: any ProcessLauncher = PosixProcessLauncher(),
                clock: any MonotonicClock = SystemClock(), logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        slots = CLISlots(capacity: configuration.maxConcurrentCLI)
        cli = CLIProbe(configuredPath: configuration.claudePath, searchPath: configuration.cliEnvironment["PATH"],
                       launcher: launcher, clock: clock)
        cancellation = try CancellationSignal()
        chatCompletions = ChatCompletionsEndpoint(configuration: configuration, launcher: launcher, clock: clock, slots: slots,
                                                  cli: cli, logger: logger, cancellation: cancellation)
    }

    /// Starts a graceful stop: new chat completions are refused with 503 `shutting_down`; cheap endpoints still answer.
    public func stopAdmitting() {
        slots.stopAdmitting()
    }

    /// Ends every turn still running (drain deadline passed): each client gets a `shutting_down` error and its
    /// CLI is ended like any other (SIGTERM, grace, SIGKILL, reap).
    public func cancelInFlight() {
        cancellation.fire()
    }

    /// Answers one request. Never throws: every failure becomes an OpenAI error response.
    public func handle(_ request: HTTPRequest, body: inout some RequestBodyReader, writer: any ResponseWriter) {
        let start = clock.now()
        stats.requestStarted()
        let outcome = route(request, body: &body, writer: writer)
        writer.end()
        stats.requestFinished(outcome)
        var fields: [String: LogValue] = [
            "request_id": .string(request.requestID), "method": .string(request.method), "path": .string(request.path),
            "status": .int(outcome.status), "duration_ms": .int(Int((clock.now() - start) / 1_000_000)),
        ]
        if let model = outcome.model { fields["model"] = .string(model) }
        if let stream = outcome.stream { fields["stream"] = .bool(stream) }
        if let usage = outcome.usage {
            fields["prompt_tokens"] = .int(usage.promptTokens)
            fields["completion_tokens"] = .int(usage.completionTokens)
            fields["cached_tokens"] = .int(usage.promptTokensDetails.cachedTokens)
        }
        if let reason = outcome.finishReason { fields["finish_reason"] = .string(reason.rawValue) }
        if let code = outcome.errorCode { fields["error"] = .string(code) }
        if outcome.clientDisconnected { fields["client_disconnected"] = .bool(true) }
        if let exit = outcome.cliExit { fields["cli_exit"] = .string(exit) }
        logger.info("request", fields)
    }

    private func route(_ request: HTTPRequest, body: inout some RequestBodyReader, writer: any ResponseWriter) -> RequestOutcome {
        let path = request.path.count > 1 && request.path.hasSuffix("/") ? String(request.path.dropLast()) : request.path
        switch path {
        case "/v1/chat/completions", "/chat/completions":
            guard request.method == "POST" else { return refuse(request, allowed: ["POST"], writer: writer) }
            return chatCompletions.handle(request, body: &body, writer: writer)
        case "/v1/models", "/models":
            guard request.method == "GET" || request.method == "HEAD" else { return refuse(request, allowed: ["GET"], writer: writer) }
            return send(ModelList(data: modelEntries()), writer: writer)
        case "/status":
            guard request.method == "GET" || request.method == "HEAD" else { return refuse(request, allowed: ["GET"], writer: writer) }
            return send(stats.report(slots: slots.snapshot, draining: slots.isDraining, startedAt: startedAt), writer: writer)
        case "/health", "/v1/health":
            guard request.method == "GET" || request.method == "HEAD" else { return refuse(request, allowed: ["GET"], writer: writer) }
            return health(writer: writer)
        default:
            for prefix in ["/v1/models/", "/models/"] where path.hasPrefix(prefix) {
                guard request.method == "GET" else { return refuse(request, allowed: ["GET"], writer: writer) }
                let id = String(path.dropFirst(prefix.count)).removingPercentEncoding ?? ""
                guard let model = modelEntries().first(where: { $0.id == id }) else { return fail(.modelNotFound(id), writer: writer) }
                return send(model, writer: writer)
            }
            return fail(.notFound(path: request.path), writer: writer)
        }
    }

    private func modelEntries() -> [ModelList.Model] {
        let created = Int(startedAt.timeIntervalSince1970)
        return configuration.models.acceptedNames.map { ModelList.Model(id: $0, created: created, ownedBy: "anthropic") }
    }

    private func health(writer: any ResponseWriter) -> RequestOutcome {
        let report = cli.report()
        let slots = slots.snapshot
        let healthy = report.isHealthy && !self.slots.isDraining
        let body = HealthReport(
            status: healthy ? "ok" : "unavailable",
            cli: .init(found: report.path != nil, path: report.path, version: report.version, problem: report.problem),
            cliSlots: slots,
            draining: self.slots.isDraining)
        return send(body, status: healthy ? 200 : 503, writer: writer)
    }

    private func refuse(_ request: HTTPRequest, allowed: [String], writer: any ResponseWriter) -> RequestOutcome {
        let error = APIError.methodNotAllowed(method: request.method, path: request.path, allowed: allowed)
        try? writer.respond(status: error.status, json: JSONBodyEncoder().encode(error.body), headers: [("Allow", allowed.joined(separator: ", "))])
        return RequestOutcome(error: error)
    }

    private func fail(_ error: APIError, writer: any ResponseWriter) -> RequestOutcome {
        try? writer.respond(error: error)
        return RequestOutcome(error: error)
    }

    private func send(_ value: some Encodable, status: Int = 200, writer: any ResponseWriter) -> RequestOutcome {
        try? writer.respond(status: status, json: JSONBodyEncoder().encode(value))
        return RequestOutcome(status: status)
    }
}
