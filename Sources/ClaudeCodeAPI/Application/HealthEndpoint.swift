/// `GET /health`: 200 when a turn could start now (the CLI answers `--version`, the service is not stopping), else 503.
struct HealthEndpoint: Sendable {
    let cli: CLIProbe
    let slots: CLISlots

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.get], ["/health", "/v1/health"], access: .open, errorFormat: errorFormat) { context in handle(context) }
    }

    func handle(_ context: RequestContext) -> RequestOutcome {
        let report = cli.report()
        let draining = slots.isDraining
        let healthy = report.isHealthy && !draining
        let body = HealthReport(
            status: healthy ? "ok" : "unavailable",
            cli: .init(available: report.isHealthy, version: report.version),
            cliSlots: slots.snapshot,
            draining: draining)
        return context.respond(json: body, status: healthy ? 200 : 503)
    }
}
