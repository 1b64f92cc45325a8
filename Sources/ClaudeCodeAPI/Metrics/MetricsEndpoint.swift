/// `GET /metrics`: the Prometheus text exposition format, for the operator only (loopback clients), like `/status`.
/// Gauges are read at the scrape: slots, queue, in-flight requests, the CLIs' processes and memory (from /proc), and
/// whether the CLI answers.
struct MetricsEndpoint: Sendable {
    let metrics: ServiceMetrics
    let stats: ServiceStats
    let slots: CLISlots
    let cli: CLIProbe
    let launcher: any ProcessLauncher
    let pool: CLIPool?

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.get], ["/metrics"], access: .operatorOnly, errorFormat: errorFormat) { context in
            try? context.writer.respond(status: 200, contentType: Self.contentType, body: metrics.exposition(sample()))
            return RequestOutcome(status: 200)
        }
    }

    func sample() -> ServiceMetrics.Sample {
        let snapshot = slots.snapshot
        let probe = cli.report()
        var sample = ServiceMetrics.Sample()
        sample.requestsInFlight = stats.inFlight
        sample.requestsQueued = snapshot.waiting
        sample.slotsBusy = snapshot.busy
        sample.slotsMax = snapshot.capacity
        sample.cliProcesses = ProcessGroupUsage.sample(groups: launcher.liveProcessGroups)
        sample.cliAvailable = probe.isHealthy
        sample.cliVersion = probe.version
        if let pool = pool?.snapshot() {
            sample.poolIdleFresh = pool.idleFresh
            sample.poolIdleUsed = pool.idleUsed
        }
        return sample
    }
}
