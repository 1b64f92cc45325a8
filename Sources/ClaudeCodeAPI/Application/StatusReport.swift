/// `GET /status`: php-fpm's status page for this service (its words where it has them). Keys go out in snake_case.
struct StatusReport: Encodable {
    struct Requests: Encodable {
        var accepted: Int
        var inFlight: Int
        var maxInFlight: Int
        var byStatus: [String: Int]
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
    }

    /// The last `claude --version` probe: where the CLI is and, when it failed, why (operator eyes only).
    struct Probe: Encodable {
        var path: String?
        var version: String?
        var problem: String?
    }

    struct Tokens: Encodable {
        var prompt: Int
        var completion: Int
    }

    /// Percentiles of the last `window` model turns (requests that were to run a CLI), in milliseconds; left out
    /// before the first turn (the time to first token: before the first token).
    struct RecentLatency: Encodable {
        var window: Int
        var turns: Int
        var durationMs: Percentiles?
        var timeToFirstTokenMs: Percentiles?
    }

    struct Percentiles: Encodable, Equatable {
        var p50: Int
        var p90: Int
        var p99: Int
    }

    /// The service's version.
    var version: String
    var startedAt: Int
    var uptimeSeconds: Int
    var draining: Bool
    var requests: Requests
    var cli: CLI
    var cliProbe: Probe
    var clientDisconnects: Int
    var timeouts: Int
    var tokens: Tokens
    var recentLatency: RecentLatency
    /// The warm pool's figures; nil when it is off.
    var pool: CLIPool.Snapshot?
}
