/// `GET /health`: whether a model turn could start now, without starting one.
struct HealthReport: Encodable {
    struct CLI: Encodable {
        var found: Bool
        var path: String?
        var version: String?
        var problem: String?
    }

    struct Slots: Encodable {
        var busy: Int
        var waiting: Int
        var capacity: Int
        /// Requests refused because every slot stayed busy (php-fpm: "max children reached").
        var refusals: Int
    }

    var status: String
    var cli: CLI
    var cliSlots: Slots
    var draining: Bool

    enum CodingKeys: String, CodingKey { case status, cli, cliSlots = "cli_slots", draining }
}
