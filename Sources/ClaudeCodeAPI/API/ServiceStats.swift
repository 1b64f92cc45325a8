import Foundation

/// Counters since start, for `GET /status`. Fed with each request's outcome; cheap enough for every request.
public final class ServiceStats: @unchecked Sendable {
    private let lock = NSLock()
    private var accepted = 0
    private var inFlight = 0
    private var maxInFlight = 0
    private var byStatusClass: [String: Int] = [:]
    private var cliRuns = 0
    private var cliEndedBySignal = 0
    private var clientDisconnects = 0
    private var timeouts = 0
    private var promptTokens = 0
    private var completionTokens = 0

    public init() {}

    func requestStarted() {
        lock.lock(); defer { lock.unlock() }
        accepted += 1
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
    }

    func requestFinished(_ outcome: RequestOutcome) {
        lock.lock(); defer { lock.unlock() }
        inFlight -= 1
        byStatusClass["\(outcome.status / 100)xx", default: 0] += 1
        if let exit = outcome.cliExit {
            cliRuns += 1
            if exit.hasPrefix("signal") { cliEndedBySignal += 1 }
        }
        if outcome.clientDisconnected { clientDisconnects += 1 }
        if outcome.errorCode == "request_timeout" || outcome.errorCode == "cli_stalled" { timeouts += 1 }
        if let usage = outcome.usage {
            promptTokens += usage.promptTokens
            completionTokens += usage.completionTokens
        }
    }

    func report(slots: CLISlots.Snapshot, draining: Bool, startedAt: Date) -> StatusReport {
        lock.lock(); defer { lock.unlock() }
        return StatusReport(
            startedAt: Int(startedAt.timeIntervalSince1970),
            uptimeSeconds: Int(Date().timeIntervalSince(startedAt)),
            draining: draining,
            requests: .init(accepted: accepted, inFlight: inFlight, maxInFlight: maxInFlight, byStatus: byStatusClass),
            cli: .init(active: slots.busy, capacity: slots.capacity, maxActive: slots.maxBusy, waiting: slots.waiting,
                       maxChildrenReached: slots.refusals, runs: cliRuns, endedBySignal: cliEndedBySignal),
            clientDisconnects: clientDisconnects,
            timeouts: timeouts,
            tokens: .init(prompt: promptTokens, completion: completionTokens))
    }
}

/// `GET /status`: php-fpm's status page for this service (its words where it has them).
struct StatusReport: Encodable {
    struct Requests: Encodable {
        var accepted: Int
        var inFlight: Int
        var maxInFlight: Int
        var byStatus: [String: Int]
        enum CodingKeys: String, CodingKey {
            case accepted, inFlight = "in_flight", maxInFlight = "max_in_flight", byStatus = "by_status"
        }
    }

    struct CLI: Encodable {
        var active: Int
        var capacity: Int
        var maxActive: Int
        /// Requests waiting for a slot right now (php-fpm's listen queue).
        var waiting: Int
        /// Requests turned away with 429 because every slot stayed busy.
        var maxChildrenReached: Int
        var runs: Int
        var endedBySignal: Int
        enum CodingKeys: String, CodingKey {
            case active, capacity, waiting, runs
            case maxActive = "max_active", maxChildrenReached = "max_children_reached", endedBySignal = "ended_by_signal"
        }
    }

    struct Tokens: Encodable {
        var prompt: Int
        var completion: Int
    }

    var startedAt: Int
    var uptimeSeconds: Int
    var draining: Bool
    var requests: Requests
    var cli: CLI
    var clientDisconnects: Int
    var timeouts: Int
    var tokens: Tokens

    enum CodingKeys: String, CodingKey {
        case draining, requests, cli, timeouts, tokens
        case startedAt = "started_at", uptimeSeconds = "uptime_seconds", clientDisconnects = "client_disconnects"
    }
}
