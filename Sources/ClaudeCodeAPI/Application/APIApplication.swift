import FoundationEssentials
import HTTPCore

/// The whole HTTP API, independent of the transport: the route table, the shared admission and turn running behind
/// every model endpoint, and one access-log line per request.
public final class APIApplication: HTTPHandler {
    public let configuration: Configuration
    public let slots: CLISlots
    let logger: Logger
    let clock: any MonotonicClock
    let stats = ServiceStats()
    /// Who may call: the key file's keys, or everyone when there is none.
    public let authenticator: RequestAuthenticator
    public let keyLimits: KeyLimiter
    /// The families of `GET /metrics`.
    public let metrics: ServiceMetrics
    /// Pre-started CLIs; nil when `CCA_POOL_SIZE` is 0.
    public let pool: CLIPool?
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
        let keys = try configuration.apiKeysFile.map { (path) throws(APIKeyFileError) in try APIKeyStore(path: path) }
        authenticator = RequestAuthenticator(keys: keys, failures: FailedAuthLimiter(clock: clock))
        keyLimits = KeyLimiter(defaults: configuration.keyDefaults, clock: clock)
        cancellation = try CancellationSignal()
        let cli = CLIProbe(configuredPath: configuration.claudePath, searchPath: configuration.cliEnvironment["PATH"],
                           launcher: launcher, clock: clock)
        let startedAt = Date()
        let admission = TurnAdmission(configuration: configuration, slots: slots, cli: cli, keyLimits: keyLimits)
        var runner = TurnRunner(configuration: configuration, launcher: launcher, clock: clock, logger: logger, cancellation: cancellation)
        runner.freeSpace = freeSpace
        pool = configuration.pool.isEnabled
            ? try CLIPool(settings: configuration.pool, configuration: configuration, launcher: launcher, clock: clock, logger: logger,
                      executable: { cli.executablePath }, freeSpace: freeSpace)
            : nil
        runner.pool = pool

        var router = Router()
        let openAI = OpenAIErrorFormat()
        ChatCompletionsEndpoint(configuration: configuration, admission: admission, runner: runner, logger: logger)
            .register(in: &router, errorFormat: openAI)
        MessagesEndpoint(configuration: configuration, admission: admission, runner: runner, logger: logger).register(in: &router)
        let responseStore: (any ResponseStore)? = try configuration.stateDirectory.map {
            try SQLiteResponseStore(directory: $0, ttlSeconds: configuration.responsesTTLHours * 3_600,
                                    maxBytesPerOwner: configuration.responsesMaxBytesPerOwner)
        }
        ResponsesEndpoint(configuration: configuration, admission: admission, runner: runner, store: responseStore, logger: logger)
            .register(in: &router, errorFormat: openAI)
        ModelsEndpoint(models: configuration.models, startedAt: startedAt).register(in: &router, errorFormat: openAI)
        HealthEndpoint(cli: cli, slots: slots).register(in: &router, errorFormat: openAI)
        StatusEndpoint(stats: stats, cli: cli, slots: slots, startedAt: startedAt, pool: pool).register(in: &router, errorFormat: openAI)
        metrics = ServiceMetrics(serviceVersion: ServiceVersion.current, models: configuration.models.acceptedNames)
        MetricsEndpoint(metrics: metrics, stats: stats, slots: slots, cli: cli, launcher: launcher, pool: pool).register(in: &router, errorFormat: openAI)
        metrics.startAtZero(routes: router.routeNames)
        self.router = router
    }

    /// Starts a graceful stop: new model turns are refused with 503 `shutting_down`; cheap endpoints still answer.
    public func stopAdmitting() {
        slots.stopAdmitting()
        pool?.stop()
    }

    /// Starts filling the pool of pre-started CLIs (when there is one).
    public func startPool() {
        pool?.start()
    }

    /// Reads the key file again (SIGHUP): added keys work and revoked ones stop at once, for new requests; requests in
    /// progress are not touched. A file that cannot be used leaves the keys in force as they were, and says why.
    public func reloadKeys() {
        guard let keys = authenticator.keys else {
            logger.info("SIGHUP ignored: no key file to reload (CCA_API_KEYS_FILE is unset); other settings are read at start only")
            return
        }
        do {
            let count = try keys.reload()
            logger.info("API keys reloaded", ["file": .string(keys.path), "keys": .int(count)])
        } catch {
            logger.error("API keys not reloaded: the previous keys stay in force",
                         ["error": .string(error.description), "keys": .int(keys.count)])
        }
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
            var context = context(route.errorFormat, parameters)
            switch route.access {
            case .open: return (route.handler(context), route.name)
            case .operatorOnly:
                guard Self.isLoopback(request.remoteAddress) else { return (context.fail(.notFound(path: request.path)), Self.unmatchedRoute) }
                return (route.handler(context), route.name)
            case .apiKey:
                switch authenticator.check(request) {
                case .open: return (route.handler(context), route.name)
                case .refused(let error): return (context.fail(error), route.name)
                case .key(let key):
                    context.apiKey = key
                    var outcome = route.handler(context)
                    outcome.keyName = key.name
                    return (outcome, route.name)
                }
            }
        case .methodNotAllowed(let allowed, let format):
            let error = APIError.methodNotAllowed(method: request.method, path: request.path, allowed: allowed)
            return (context(format).fail(error), Self.unmatchedRoute)
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
