/// One pre-started CLI of the warm pool, with what it carries from turn to turn. A process never serves two client
/// keys (its upstream session id and cost counters live in it), and the system prompt it was given cannot be taken
/// back, so both decide which requests it may serve next.
///
/// Only one thread uses it at a time: the pool hands it over under its lock (idle -> a turn -> idle or ended).
public final class PooledCLI: @unchecked Sendable {
    public let session: CLISession
    /// Its private HOME and working directory, removed when it ends.
    public let scratch: ScratchDirectory
    /// The CLI executable it runs: a request for another one (the CLI was upgraded or moved) does not take it.
    public let executable: String
    /// When it was started, on the pool's clock.
    public let startedAt: UInt64
    /// The client key it serves, set by its first turn; nil while never used. `""` when the service has no keys.
    public internal(set) var owner: String?
    /// What it has been told so far (model, output limit, thinking, system prompt: nil when it never had one).
    public internal(set) var settings: WarmTurnSettings
    /// Turns it has begun.
    public internal(set) var uses = 0

    init(session: CLISession, scratch: ScratchDirectory, executable: String, startedAt: UInt64, settings: WarmTurnSettings) {
        self.session = session
        self.settings = settings
        self.scratch = scratch
        self.executable = executable
        self.startedAt = startedAt
    }

    /// Whether it may serve a turn of `owner` that needs `systemPrompt` (nil: none).
    func canServe(owner requester: String, systemPrompt needed: String?) -> Bool {
        guard owner == nil || owner == requester else { return false }
        return needed != nil || settings.systemPrompt == nil
    }

    /// Ends the process (stdin closed: it exits by itself within ~0.1 s) and removes its folder.
    func end(graceMilliseconds: Int) -> ProcessExit {
        session.closeInput()
        let exit = session.end(.exitByItself(waitingMilliseconds: 1_000, graceMilliseconds: graceMilliseconds))
        scratch.remove()
        return exit
    }
}
