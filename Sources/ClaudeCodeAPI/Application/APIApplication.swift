import Foundation
import HTTPCore

/// The whole HTTP API, independent of the transport: the route table, the shared admission and turn running behind
/// every model endpoint, and one access-log line per request.
public final class APIApplication: HTTPHandler {
    public let configuration: Configuration
    public let slots: CLISlots
    let logger: Logger
    let clock: any MonotonicClock
    let stats = ServiceStats()
    /// The families of `GET /metrics`.
    public let metrics: ServiceMetrics
    private let cancellation: CancellationSignal
    private let router: Router
    private let accessLog: AccessLog
    /// Errors outside any route (unknown URL, wrong method) look like OpenAI's.
    private let defaultErrorFormat: any ErrorFormat = OpenAIErrorFormat()

    public init(configuration: Configuration, launcher: any ProcessLauncher = PosixProcessLauncher(),
                clock: any MonotonicClock = SystemClock(), logger: Logger,
                freeSpace: @escaping ScratchDirectory.FreeSpaceProbe = ScratchDirectory.systemFreeSpace) throws {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        accessLog = AccessLog(logger: logger)
        slots = CLISlots(capacity: configuration.maxConcurrentCLI)
        cancellation = try CancellationSignal()
        let cli = CLIProbe(configuredPath: configuration.claudePath, searchPath: configuration.cliEnvironment["PATH"],
                           launcher: launcher, clock: clock)
        let startedAt = Date()
        let admission = TurnAdmission(configuration: configuration, slots: slots, cli: cli)
        var runner = TurnRunner(configuration: configuration, launcher: launcher, clock: clock, logger: logger, cancellation: cancellation)
        runner.freeSpace = freeSpace

        var router = Router()
        let openAI = OpenAIErrorFormat()
        ChatCompletionsEndpoint(configuration: configuration, admission: admission, runner: runner, logger: logger)
            .register(in: &router, errorFormat: openAI)
        ModelsEndpoint(models: configuration.models, startedAt: startedAt).register(in: &router, errorFormat: openAI)
        HealthEndpoint(cli: cli, slots: slots).register(in: &router, errorFormat: openAI)
        StatusEndpoint(stats: stats, cli: cli, slots: slots, startedAt: startedAt).register(in: &router, errorFormat: openAI)
        metrics = ServiceMetrics(serviceVersion: ServiceVersion.current, models: configuration.models.acceptedNames)
        MetricsEndpoint(metrics: metrics, stats: stats, slots: slots, cli: cli, launcher: launcher).register(in: &router, errorFormat: openAI)
        metrics.startAtZero(routes: router.routeNames)
        self.router = router
    }

    /// Starts a graceful stop: new model turns are refused with 503 `shutting_down`; cheap endpoints still answer.
    public func stopAdmitting() {
        slots.stopAdmitting()
    }

    /// Ends every turn still running (drain deadline passed): each client gets a `shutting_down` error and its
    /// CLI is ended like any other.
    public func cancelInFlight() {
        cancellation.fire()
    }

    /// Answers one request. Never throws: every failure becomes an error response in the route's format.
    public func handle(_ request: HTTPRequest, body: any RequestBodyReader, writer: any ResponseWriter) {
        let start = clock.now()
        stats.requestStarted()
        let (outcome, routeName) = route(request, body: body, writer: writer)
        writer.end()
        let timing = RequestTiming(start: start, end: clock.now(), outcome: outcome)
        stats.requestFinished(outcome, timing: timing)
        metrics.record(outcome, route: routeName, timing: timing)
        accessLog.record(request, outcome, timing: timing)
    }

    /// What metrics call requests that matched no route.
    static let unmatchedRoute = "unmatched"

    /// Answers through the matching route; returns what to log and the route's name.
    private func route(_ request: HTTPRequest, body: any RequestBodyReader, writer: any ResponseWriter) -> (RequestOutcome, String) {
        func context(_ format: any ErrorFormat, _ parameters: [String: String] = [:]) -> RequestContext {
            RequestContext(request: request, body: body, writer: writer, parameters: parameters, errorFormat: format)
        }
        switch router.resolve(request.method, request.path) {
        case .route(let route, let parameters):
            let context = context(route.errorFormat, parameters)
            if route.access == .operatorOnly && !Self.isLoopback(request.remoteAddress) {
                return (context.fail(.notFound(path: request.path)), Self.unmatchedRoute)
            }
            return (route.handler(context), route.name)
        case .methodNotAllowed(let allowed):
            let error = APIError.methodNotAllowed(method: request.method, path: request.path, allowed: allowed)
            return (context(defaultErrorFormat).fail(error), Self.unmatchedRoute)
        case .notFound:
            return (context(defaultErrorFormat).fail(.notFound(path: request.path)), Self.unmatchedRoute)
        }
    }

    /// Whether the client is on this machine, as the web server reported it.
    static func isLoopback(_ address: String?) -> Bool {
        guard let address else { return false }
        return address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }
}
