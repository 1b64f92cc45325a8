/// `GET /status?html`: the status report as a small page for an operator's browser. Self-contained (inline CSS, no
/// script, no asset of any kind; its Content-Security-Policy forbids loading one) and reloading itself every
/// `refreshSeconds`. Every number carries `data-key`, its path in the JSON report (`cli.active`), so that a test can
/// hold the two side by side.
struct StatusPage {
    static let refreshSeconds = 5
    static let contentType = "text/html; charset=utf-8"
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

    let report: StatusReport

    var html: String {
        let cli = report.cli
        let busyPercent = cli.capacity > 0 ? min(100, cli.active * 100 / cli.capacity) : 0
        let errors = report.requests.byStatus
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="refresh" content="\(Self.refreshSeconds)">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>claude-code-api status</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2327; background: #f6f7f7; }
        h1 { font-size: 1.3em; margin: 0 0 .2em; }
        .sub { color: #646970; margin-bottom: 1em; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 1em; }
        section { background: #fff; border: 1px solid #dcdcde; border-radius: 6px; padding: .8em 1em; }
        h2 { font-size: 1em; margin: 0 0 .5em; color: #3c434a; }
        table { border-collapse: collapse; width: 100%; }
        td { padding: .15em 0; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; padding-left: .8em; }
        .bar { height: .6em; background: #dcdcde; border-radius: 3px; overflow: hidden; margin: .3em 0 .6em; }
        .bar div { height: 100%; background: \(busyPercent >= 100 ? "#d63638" : "#2271b1"); }
        .bad { color: #d63638; }
        .ok { color: #00a32a; }
        code { font-size: .9em; word-break: break-all; }
        </style>
        </head>
        <body>
        <h1>claude-code-api <span data-key="version">\(escape(report.version))</span></h1>
        <div class="sub">up <span data-key="uptime_seconds" data-value="\(report.uptimeSeconds)">\(Self.duration(report.uptimeSeconds))</span>
        · \(report.draining ? #"<span class="bad" data-key="draining" data-value="true">draining</span>"# : #"<span class="ok" data-key="draining" data-value="false">serving</span>"#)
        · refreshes every \(Self.refreshSeconds) s</div>
        <div class="grid">
        <section>
        <h2>CLI slots</h2>
        <div class="bar"><div style="width: \(busyPercent)%"></div></div>
        <table>
        \(row("busy", "cli.active", cli.active))
        \(row("slots", "cli.capacity", cli.capacity))
        \(row("most busy at once", "cli.max_active", cli.maxActive))
        \(row("waiting for a slot (queue)", "cli.waiting", cli.waiting))
        \(row("turned away, slots full (429)", "cli.max_children_reached", cli.maxChildrenReached))
        </table>
        </section>
        <section>
        <h2>Requests</h2>
        <table>
        \(row("accepted", "requests.accepted", report.requests.accepted))
        \(row("in flight (this page included)", "requests.in_flight", report.requests.inFlight))
        \(row("most in flight at once", "requests.max_in_flight", report.requests.maxInFlight))
        \(["2xx", "3xx", "4xx", "5xx"].map { row($0, "requests.by_status.\($0)", errors[$0] ?? 0) }.joined(separator: "\n"))
        </table>
        </section>
        <section>
        <h2>Recent latency (last <span data-key="recent_latency.turns">\(report.recentLatency.turns)</span> turns)</h2>
        <table>
        <tr><td></td><td class="n">p50</td><td class="n">p90</td><td class="n">p99</td></tr>
        \(percentiles("whole answer, ms", "recent_latency.duration_ms", report.recentLatency.durationMs))
        \(percentiles("first token, ms", "recent_latency.time_to_first_token_ms", report.recentLatency.timeToFirstTokenMs))
        </table>
        </section>
        <section>
        <h2>Errors and CLI runs</h2>
        <table>
        \(row("server errors (5xx)", "requests.by_status.5xx", errors["5xx"] ?? 0))
        \(row("timeouts", "timeouts", report.timeouts))
        \(row("client disconnects", "client_disconnects", report.clientDisconnects))
        \(row("CLI runs", "cli.runs", cli.runs))
        \(row("CLIs ended by a signal", "cli.ended_by_signal", cli.endedBySignal))
        \(row("prompt tokens", "tokens.prompt", report.tokens.prompt))
        \(row("completion tokens", "tokens.completion", report.tokens.completion))
        </table>
        </section>
        <section>
        <h2>CLI</h2>
        <table>
        <tr><td>version</td><td class="n" data-key="cli_probe.version">\(escape(report.cliProbe.version ?? "—"))</td></tr>
        <tr><td>path</td><td class="n"><code data-key="cli_probe.path">\(escape(report.cliProbe.path ?? "not found"))</code></td></tr>
        \(report.cliProbe.problem.map { #"<tr><td>problem</td><td class="n bad" data-key="cli_probe.problem">\#(escape($0))</td></tr>"# } ?? "")
        </table>
        </section>
        </div>
        </body>
        </html>

        """
    }

    private func row(_ label: String, _ key: String, _ value: Int) -> String {
        #"<tr><td>\#(label)</td><td class="n" data-key="\#(key)">\#(value)</td></tr>"#
    }

    private func percentiles(_ label: String, _ key: String, _ values: StatusReport.Percentiles?) -> String {
        let cells = [("p50", values?.p50), ("p90", values?.p90), ("p99", values?.p99)].map { name, value in
            value.map { #"<td class="n" data-key="\#(key).\#(name)">\#($0)</td>"# } ?? #"<td class="n">—</td>"#
        }
        return "<tr><td>\(label)</td>\(cells.joined())</tr>"
    }

    /// `3 d 4 h`, `2 h 5 min`, `4 min 7 s`, `9 s`.
    static func duration(_ seconds: Int) -> String {
        let (d, h, m, s) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60, seconds % 60)
        if d > 0 { return "\(d) d \(h) h" }
        if h > 0 { return "\(h) h \(m) min" }
        if m > 0 { return "\(m) min \(s) s" }
        return "\(s) s"
    }

    private func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
