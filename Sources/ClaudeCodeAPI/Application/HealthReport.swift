/// `GET /health`: whether a model turn could start now, without starting one. Keys go out in snake_case.
struct HealthReport: Encodable {
    struct CLI: Encodable {
        var found: Bool
        var path: String?
        var version: String?
        var problem: String?
    }

    var status: String
    var cli: CLI
    var cliSlots: CLISlots.Snapshot
    var draining: Bool
}
