import Prometheus
import Synchronization

/// The Prometheus families of `GET /metrics`, kept in a swift-prometheus registry of this application's own.
///
/// Counters and histograms are fed with each request's outcome on the worker thread that served it (the registry's
/// metrics are locks and atomics; no event loop, no async runtime); gauges are set from a `Sample` when scraped.
/// No label carries a client's key, prompt or request id: routes are the route table's names, models the catalogue's
/// names (anything else is `""`), reasons are error codes, and `key` is the name an operator gave a key.
///
/// The registry is used directly rather than through swift-metrics' `MetricsSystem`: its factory path cannot set HELP
/// text (which `promtool check metrics` requires), and a process-wide bootstrap would share one registry between
/// every application a test starts.
public final class ServiceMetrics: Sendable {
    /// The state that gauges report, read when scraped.
    public struct Sample: Sendable, Equatable {
        public var requestsInFlight = 0
        public var requestsQueued = 0
        public var slotsBusy = 0
        public var slotsMax = 0
        public var cliProcesses = ProcessGroupUsage()
        public var cliAvailable = false
        public var cliVersion: String?
        /// Idle pooled CLIs never used, and used (waiting for their key's next turn); zero with the pool off.
        public var poolIdleFresh = 0
        public var poolIdleUsed = 0

        public init() {}
    }

    /// The `key` label of requests made without a client key.
    public static let noKey = "none"
    /// Histogram buckets, in seconds: from 50 ms (a CLI's start-up is ~250 ms) to a minute.
    public static let latencyBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 7.5, 10, 15, 30, 60]

    public let registry = PrometheusCollectorRegistry()
    private let serviceVersion: String
    private let models: Set<String>
    private let buckets: [Duration]
    private let gauges: Gauges
    /// The `build_info` series now shown, replaced when the CLI's version changes.
    private let buildInfo = Mutex<(cliVersion: String, gauge: Gauge)?>(nil)

    private struct Gauges: Sendable {
        let inFlight, queued, slotsBusy, slotsMax, cliProcesses, cliMemory, cliAvailable, poolIdleFresh, poolIdleUsed: Gauge
    }

    /// `models`: the accepted model names, the only values the `model` label takes besides `""`.
    public init(serviceVersion: String, models: [String]) {
        self.serviceVersion = serviceVersion
        self.models = Set(models)
        buckets = Self.latencyBuckets.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        gauges = Gauges(
            inFlight: registry.makeGauge(descriptor: Family.requestsInFlight),
            queued: registry.makeGauge(descriptor: Family.requestsQueued),
            slotsBusy: registry.makeGauge(descriptor: Family.slotsBusy),
            slotsMax: registry.makeGauge(descriptor: Family.slotsMax),
            cliProcesses: registry.makeGauge(descriptor: Family.cliProcesses),
            cliMemory: registry.makeGauge(descriptor: Family.cliMemory),
            cliAvailable: registry.makeGauge(descriptor: Family.cliAvailable),
            poolIdleFresh: registry.makeGauge(descriptor: Family.poolIdle, labels: [("state", "fresh")]),
            poolIdleUsed: registry.makeGauge(descriptor: Family.poolIdle, labels: [("state", "used")]))
        for cause in CLIExitCause.allCases { _ = exits(cause) }
        for start in [CLIStart.cold, .pooled, .reused] { _ = turns(start) }
        // Counters at zero from the start, for the same reason as `startAtZero(routes:)`.
        for (status, reason) in [(429, APIError.Code.serverBusy), (503, .shuttingDown), (503, .cliNotInstalled)] {
            _ = rejections(status: status, reason: reason)
        }
    }

    /// Shows the request counters of `routes` at zero, so that the first failure on each shows in `rate()` and
    /// `increase()` (a series that appears at 1 counts as no increase).
    public func startAtZero(routes: [String]) {
        for route in routes {
            for statusClass in ["2xx", "4xx", "5xx"] { _ = requests(route: route, statusClass: statusClass, model: "") }
        }
    }

    // MARK: Fed per request

    /// Counts one finished request.
    public func record(_ outcome: RequestOutcome, route: String, timing: RequestTiming) {
        let model = outcome.model.flatMap { models.contains($0) ? $0 : nil } ?? ""
        requests(route: route, statusClass: "\(outcome.status / 100)xx", model: model).increment()
        requestDuration(route: route).recordNanoseconds(Int64(clamping: timing.durationNanoseconds))
        if let ttft = timing.timeToFirstTokenNanoseconds {
            timeToFirstToken(model: model).recordNanoseconds(Int64(clamping: ttft))
        }
        if let cause = CLIExitCause(outcome) { exits(cause).increment() }
        if let start = outcome.cliStart { turns(start).increment() }
        if outcome.cliStartFailures > 0 { exits(.crash).increment(by: Int64(outcome.cliStartFailures)) }
        if [429, 503, 529].contains(outcome.status), let code = outcome.errorCode {
            rejections(status: outcome.status, reason: code).increment()
        }
        if let usage = outcome.usage {
            let keyName = outcome.keyName
            let key = keyName ?? Self.noKey
            tokens(model: model, key: key, type: "input").increment(by: Int64(usage.inputTokens + usage.cacheCreationInputTokens))
            tokens(model: model, key: key, type: "cached").increment(by: Int64(usage.cacheReadInputTokens))
            tokens(model: model, key: key, type: "output").increment(by: Int64(usage.outputTokens))
        }
    }

    private func requests(route: String, statusClass: String, model: String) -> Counter {
        registry.makeCounter(descriptor: Family.requests, labels: [("route", route), ("status_class", statusClass), ("model", model)])
    }

    private func requestDuration(route: String) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: Family.requestDuration, labels: [("route", route)], buckets: buckets)
    }

    private func timeToFirstToken(model: String) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: Family.timeToFirstToken, labels: [("model", model)], buckets: buckets)
    }

    private func exits(_ cause: CLIExitCause) -> Counter {
        registry.makeCounter(descriptor: Family.cliExits, labels: [("cause", cause.rawValue)])
    }

    private func turns(_ start: CLIStart) -> Counter {
        registry.makeCounter(descriptor: Family.turns, labels: [("start", start.rawValue)])
    }

    private func rejections(status: Int, reason: APIError.Code) -> Counter {
        registry.makeCounter(descriptor: Family.rejections, labels: [("status", String(status)), ("reason", reason.rawValue)])
    }

    private func tokens(model: String, key: String, type: String) -> Counter {
        registry.makeCounter(descriptor: Family.tokens, labels: [("model", model), ("key", key), ("type", type)])
    }

    // MARK: Read when scraped

    /// The exposition text (`text/plain; version=0.0.4`), with the gauges set from `sample` first.
    public func exposition(_ sample: Sample) -> [UInt8] {
        gauges.inFlight.set(Double(sample.requestsInFlight))
        gauges.queued.set(Double(sample.requestsQueued))
        gauges.slotsBusy.set(Double(sample.slotsBusy))
        gauges.slotsMax.set(Double(sample.slotsMax))
        gauges.cliProcesses.set(Double(sample.cliProcesses.processes))
        gauges.cliMemory.set(Double(sample.cliProcesses.residentBytes))
        gauges.cliAvailable.set(sample.cliAvailable ? 1.0 : 0.0)
        gauges.poolIdleFresh.set(Double(sample.poolIdleFresh))
        gauges.poolIdleUsed.set(Double(sample.poolIdleUsed))
        showBuildInfo(cliVersion: sample.cliVersion ?? "")
        return registry.emitToBuffer()
    }

    private func showBuildInfo(cliVersion: String) {
        buildInfo.withLock { shown in
            if let shown, shown.cliVersion == cliVersion { return }
            if let old = shown?.gauge { registry.unregisterGauge(old) }
            let gauge = registry.makeGauge(descriptor: Family.buildInfo, labels: [("version", serviceVersion), ("cli_version", cliVersion)])
            gauge.set(1.0)
            shown = (cliVersion, gauge)
        }
    }
}

/// Every family's name and HELP text, in one place (computed: swift-prometheus's descriptor is not `Sendable`).
private enum Family {
    static var requests: MetricNameDescriptor {
        named("requests", "total", "Requests answered, by route, status class and model (\"\" when none or not a listed one).")
    }
    static var requestDuration: MetricNameDescriptor {
        named("request_duration", "seconds", "Time from a request's arrival at the responder to the end of its answer, by route.")
    }
    static var timeToFirstToken: MetricNameDescriptor {
        named("time_to_first_token", "seconds",
              "Time from a model request's arrival to its first text or reasoning token reaching the encoder, by model.")
    }
    static var requestsInFlight: MetricNameDescriptor {
        named("requests_in_flight", help: "Requests being answered now, on any route (this scrape included).")
    }
    static var requestsQueued: MetricNameDescriptor {
        named("requests_queued", help: "Requests waiting for a CLI slot now (php-fpm's listen queue).")
    }
    static var slotsBusy: MetricNameDescriptor { named("cli_slots_busy", help: "CLI slots in use now.") }
    static var slotsMax: MetricNameDescriptor {
        named("cli_slots_max", help: "CLI slots in all (CCA_MAX_CONCURRENT_CLI, php-fpm's pm.max_children).")
    }
    static var cliProcesses: MetricNameDescriptor {
        named("cli_processes", help: "Processes alive in the CLIs' process groups (a CLI and its helpers).")
    }
    static var cliMemory: MetricNameDescriptor {
        named("cli_resident_memory", "bytes", "Resident memory of every process in the CLIs' process groups, in total.")
    }
    static var cliExits: MetricNameDescriptor {
        named("cli_exits", "total", "CLI processes ended, by cause: ok, error_result, disconnect, timeout, crash, shutdown.")
    }
    static var turns: MetricNameDescriptor {
        named("cli_turns", "total", "Model turns by where their CLI came from: cold (started for the turn), pooled (pre-started, "
              + "never used), reused (pooled, reset after an earlier turn of the same key).")
    }
    static var poolIdle: MetricNameDescriptor {
        named("pool_idle_clis", help: "Idle pre-started CLIs now: fresh (never used) and used (kept for their key's next turn).")
    }
    static var tokens: MetricNameDescriptor {
        named("tokens", "total", "Tokens of finished turns, by model, client key name (none without a key) and type: "
              + "input (uncached, cache writes included), cached (cache reads), output.")
    }
    static var rejections: MetricNameDescriptor {
        named("rejected_requests", "total", "Requests answered 429 or 503, by status and error code (server_busy: every CLI slot stayed busy).")
    }
    static var cliAvailable: MetricNameDescriptor {
        named("cli_available", help: "1 when the CLI is found and answers --version (checked at most every 30 s), else 0.")
    }
    static var buildInfo: MetricNameDescriptor {
        named("build", "info", "Always 1: the service's version and the CLI's (\"\" while it does not answer).")
    }

    private static func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "claude_code_api", metricName: name, unitName: unit, helpText: help)
    }

    private static func named(_ name: String, help: String) -> MetricNameDescriptor { named(name, "", help) }
}
