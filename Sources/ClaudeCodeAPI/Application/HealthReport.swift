/// `GET /health`, public: whether a model turn could start now, the CLI's version and slot usage. Nothing about
/// the server's paths or why a probe failed (that is in `/status`, for the operator). Keys go out in snake_case.
struct HealthReport: Encodable {
    struct CLI: Encodable {
        var available: Bool
        var version: String?
    }

    var status: String
    var cli: CLI
    var cliSlots: CLISlots.Snapshot
    var draining: Bool
}
