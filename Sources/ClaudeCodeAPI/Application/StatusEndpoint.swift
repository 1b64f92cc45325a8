import FoundationEssentials
import HTTPCore

/// `GET /status`: php-fpm-style counters as JSON, or with `?html` as a page for a browser (php-fpm's `?html` too);
/// for the operator only (loopback clients).
struct StatusEndpoint: Sendable {
    let stats: ServiceStats
    let cli: CLIProbe
    let slots: CLISlots
    let startedAt: Date
    let pool: CLIPool?

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.get], ["/status"], access: .operatorOnly, errorFormat: errorFormat) { context in
            var report = stats.report(slots: slots.snapshot, draining: slots.isDraining, startedAt: startedAt, probe: cli.report())
            report.pool = pool?.snapshot()
            guard Self.wantsHTML(context.request.query) else { return context.respond(json: report) }
            let page = StatusPage(report: report)
            try? context.writer.respond(status: 200, contentType: StatusPage.contentType, body: Array(page.html.utf8),
                                        headers: [HTTPHeader("Content-Security-Policy", StatusPage.contentSecurityPolicy),
                                                  HTTPHeader("Cache-Control", "no-store")])
            return RequestOutcome(status: 200)
        }
    }

    /// Whether the query names `html` (`?html`, `?html=1`, `?full&html`).
    static func wantsHTML(_ query: String) -> Bool {
        query.split(separator: "&").contains { $0.split(separator: "=", maxSplits: 1).first == "html" }
    }
}
