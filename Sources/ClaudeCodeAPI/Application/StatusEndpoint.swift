import Foundation

/// `GET /status`: php-fpm-style counters, for the operator only (loopback clients).
struct StatusEndpoint: Sendable {
    let stats: ServiceStats
    let cli: CLIProbe
    let slots: CLISlots
    let startedAt: Date

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.get], ["/status"], access: .operatorOnly, errorFormat: errorFormat) { context in
            context.respond(json: stats.report(slots: slots.snapshot, draining: slots.isDraining, startedAt: startedAt, probe: cli.report()))
        }
    }
}
