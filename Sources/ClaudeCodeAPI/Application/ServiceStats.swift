import FoundationEssentials
import Synchronization

/// Counters since start, and the latency of recent model turns, for `GET /status`. Fed with each request's outcome;
/// cheap enough for every request.
public final class ServiceStats: Sendable {
    /// How many recent model turns the latency percentiles cover.
    public static let latencyWindow = 1_000

    private struct Counters {
        var accepted = 0
        var inFlight = 0
        var maxInFlight = 0
        var byStatusClass: [String: Int] = [:]
        var cliRuns = 0
        var cliEndedBySignal = 0
        var clientDisconnects = 0
        var timeouts = 0
        var promptTokens = 0
        var completionTokens = 0
        var durations = LatencyWindow(capacity: ServiceStats.latencyWindow)
        var timesToFirstToken = LatencyWindow(capacity: ServiceStats.latencyWindow)
    }

    private let counters = Mutex(Counters())

    public init() {}

    func requestStarted() {
        counters.withLock { c in
            c.accepted += 1
            c.inFlight += 1
            c.maxInFlight = max(c.maxInFlight, c.inFlight)
        }
    }

    /// Requests being answered now.
    var inFlight: Int { counters.withLock { $0.inFlight } }

    func requestFinished(_ outcome: RequestOutcome, timing: RequestTiming) {
        counters.withLock { c in
            // Model turns only (a CLI was to run), so that health checks and scrapes do not drown them.
            if outcome.cliExit != nil {
                c.durations.add(timing.durationNanoseconds)
                if let ttft = timing.timeToFirstTokenNanoseconds { c.timesToFirstToken.add(ttft) }
            }
            c.inFlight -= 1
            c.byStatusClass["\(outcome.status / 100)xx", default: 0] += 1
            switch outcome.cliExit {
            case .exited?, .lost?, .keptWarm?: c.cliRuns += 1
            case .signalled?: c.cliRuns += 1; c.cliEndedBySignal += 1
            case .notStarted?, nil: break
            }
            if outcome.clientDisconnected { c.clientDisconnects += 1 }
            if outcome.errorCode?.isTimeout == true { c.timeouts += 1 }
            if let usage = outcome.usage {
                c.promptTokens += usage.promptTokens
                c.completionTokens += usage.outputTokens
            }
        }
    }

    func report(slots: CLISlots.Snapshot, draining: Bool, startedAt: Date, probe: CLIProbe.Report) -> StatusReport {
        counters.withLock { c in
            StatusReport(
                version: ServiceVersion.current,
                startedAt: Int(startedAt.timeIntervalSince1970),
                uptimeSeconds: Int(Date().timeIntervalSince(startedAt)),
                draining: draining,
                requests: .init(accepted: c.accepted, inFlight: c.inFlight, maxInFlight: c.maxInFlight, byStatus: c.byStatusClass),
                cli: .init(active: slots.busy, capacity: slots.capacity, maxActive: slots.maxBusy, waiting: slots.waiting,
                           maxChildrenReached: slots.refusals, runs: c.cliRuns, endedBySignal: c.cliEndedBySignal),
                cliProbe: .init(path: probe.path, version: probe.version, problem: probe.problem.map(LogRedaction.redact)),
                clientDisconnects: c.clientDisconnects,
                timeouts: c.timeouts,
                tokens: .init(prompt: c.promptTokens, completion: c.completionTokens),
                recentLatency: .init(window: ServiceStats.latencyWindow, turns: c.durations.count, durationMs: c.durations.percentiles,
                                     timeToFirstTokenMs: c.timesToFirstToken.percentiles))
        }
    }
}
