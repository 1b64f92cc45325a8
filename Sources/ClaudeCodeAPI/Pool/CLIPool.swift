import Dispatch
import FoundationEssentials
import SystemCalls

/// Pre-started CLIs, kept idle until a turn takes one (POOL.md has the measured mechanics). A keeper thread starts them
/// one at a time while the pool holds fewer than `size` (idle, starting, or serving a turn) and the process cap allows, watches the idle ones (a process that
/// dies or talks while idle is replaced; one past its age is retired) and ends retired ones off the request path.
///
/// A turn takes a process of its own client key, else a never-used one; after a clean turn the process is rewound and
/// checked in, and kept while it is under its use and age limits. Whatever else happens
/// to a turn (an error, a disconnect, a cut, a timeout, a shutdown), its process is ended like a cold one and released.
public final class CLIPool: @unchecked Sendable {
    public let settings: PoolSettings
    private let configuration: Configuration
    private let launcher: any ProcessLauncher
    private let clock: any MonotonicClock
    private let logger: Logger
    /// The CLI to start: nil while none is installed.
    private let executable: @Sendable () -> String?
    private let freeSpace: ScratchDirectory.FreeSpaceProbe
    /// The model a pre-started CLI is launched with (each turn sets its own).
    private let launchModel: String

    /// Guards `state`; the keeper waits on it.
    private let condition = ConditionLock()
    private var state = State()
    private var keeperStarted = false
    /// Fired by `stop()`: a start in progress gives up at once instead of outliving the service.
    private let stopSignal: CancellationSignal
    private let keeperDone = DispatchSemaphore(value: 0)

    struct State {
        /// Least recently idle first.
        var idle: [PooledCLI] = []
        var starting = 0
        var checkedOut = 0
        /// Checked out, answered, being reset: back in a few milliseconds.
        var returning: [PooledCLI] = []
        var coldTurns = 0
        /// Alive but done with: the keeper ends them.
        var retired: [PooledCLI] = []
        var ending = 0
        var stopped = false
        var servedWarm = 0
        var servedReused = 0
        var servedCold = 0
        var retiredTotal = 0
        var spawnFailuresInARow = 0
        var nextSpawnAt: UInt64 = 0

        var live: Int { idle.count + starting + checkedOut + coldTurns + retired.count + ending }
        /// The pool's own processes: idle, starting, and serving a turn (they come back after it).
        var pooledCount: Int { idle.count + starting + checkedOut }
    }

    /// How long a pre-started CLI may take to print its first line before it counts as a failed start.
    static let startTimeoutNanoseconds: UInt64 = 20_000_000_000
    /// How often the keeper looks at the idle processes.
    static let watchIntervalNanoseconds: UInt64 = 1_000_000_000
    /// An idle CLI that has printed more lines than this since its last turn is not idle: it is ended.
    static let maxIdleLines = 64

    public init(settings: PoolSettings, configuration: Configuration, launcher: any ProcessLauncher, clock: any MonotonicClock,
                logger: Logger, executable: @escaping @Sendable () -> String?,
                freeSpace: @escaping ScratchDirectory.FreeSpaceProbe = ScratchDirectory.systemFreeSpace) throws(SystemError) {
        stopSignal = try CancellationSignal()
        self.settings = settings
        self.configuration = configuration
        self.launcher = launcher
        self.clock = clock
        self.logger = logger
        self.executable = executable
        self.freeSpace = freeSpace
        launchModel = configuration.models.cliModel(for: configuration.models.models.first ?? "") ?? "claude-sonnet-4-5"
    }

    // MARK: Turns

    /// A process for a turn of `owner` (the client key's name, `""` without keys) that needs `systemPrompt`, or nil
    /// when none fits (the turn starts cold). A reused process of the same key comes first, then a never-used one.
    /// When none fits and the pool is full, the least recently used idle process is retired, so that the keeper
    /// starts a fresh one in its place.
    public func checkout(owner: String, systemPrompt: String?, executable wanted: String) -> PooledCLI? {
        condition.lock()
        defer { condition.unlock() }
        let fits = { (cli: PooledCLI) in cli.executable == wanted && cli.canServe(owner: owner, systemPrompt: systemPrompt) }
        // A client's next request often comes while its last one's CLI is still being rewound (a few milliseconds
        // after the answer ended): waiting for that one beats a cold start.
        let waitUntil = Syscalls.monotonicNanoseconds() &+ UInt64(Self.returnWaitSeconds * 1e9)
        while true {
            guard !state.stopped else { return nil }
            retireExpired(now: clock.now())
            let choice = state.idle.lastIndex { fits($0) && $0.owner != nil } ?? state.idle.firstIndex { fits($0) }
            if let index = choice {
                let cli = state.idle.remove(at: index)
                if cli.owner == nil { state.servedWarm += 1 } else { state.servedReused += 1 }
                cli.owner = owner
                cli.uses += 1
                state.checkedOut += 1
                condition.broadcast()  // the keeper starts the next one
                return cli
            }
            let comingBack = state.returning.contains { fits($0) && $0.uses < settings.maxUses }
            guard comingBack, condition.wait(untilMonotonicNanoseconds: waitUntil) else { break }
        }
        if state.pooledCount >= settings.size, !state.idle.isEmpty { retire(at: 0) }
        condition.broadcast()
        return nil
    }

    /// How long a turn waits for a CLI of its key that is being reset, rather than start cold.
    static let returnWaitSeconds = 0.25

    /// A pooled process's turn has answered and its reset begins: a turn of the same key may wait for it.
    public func beginReturn(_ cli: PooledCLI) {
        condition.lock()
        state.returning.append(cli)
        condition.unlock()
    }

    private func endReturn(_ cli: PooledCLI) {
        state.returning.removeAll { $0 === cli }
    }

    /// A pooled process's turn ended cleanly and it has been rewound: it goes back to the pool, or is retired when it
    /// has served its uses, is past its age, the pool already holds `size` idle processes, or the pool has stopped.
    public func checkIn(_ cli: PooledCLI) {
        condition.lock()
        endReturn(cli)
        state.checkedOut -= 1
        let now = clock.now()
        let keep = !state.stopped && cli.uses < settings.maxUses && !isExpired(cli, now: now) && state.pooledCount < settings.size
            && state.live < settings.maxProcesses
        if keep {
            state.idle.append(cli)
        } else {
            state.retiredTotal += 1
            if !state.stopped { state.retired.append(cli) }
        }
        let endHere = !keep && state.stopped
        condition.broadcast()
        condition.unlock()
        // After a stop the keeper is gone: the turn's thread ends the process itself.
        if endHere { _ = cli.end(graceMilliseconds: configuration.killGraceMilliseconds) }
    }

    /// A pooled process whose turn ended it: it never comes back.
    public func release(_ cli: PooledCLI) {
        condition.lock()
        endReturn(cli)
        state.checkedOut -= 1
        state.retiredTotal += 1
        condition.broadcast()
        condition.unlock()
        cli.scratch.remove()
    }

    /// A cold CLI is about to start: it counts toward the process cap, and an idle pooled one is retired to make room.
    public func beginColdTurn() {
        condition.lock()
        defer { condition.unlock() }
        state.coldTurns += 1
        state.servedCold += 1
        if state.live > settings.maxProcesses, !state.idle.isEmpty { retire(at: 0) }
        condition.broadcast()
    }

    public func endColdTurn() {
        condition.lock()
        state.coldTurns -= 1
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Figures

    public struct Snapshot: Equatable, Sendable, Encodable {
        public var size: Int
        public var idleFresh: Int
        public var idleUsed: Int
        public var starting: Int
        public var busy: Int
        /// Every CLI process alive: idle, starting, busy (pooled or cold) and being ended.
        public var live: Int
        public var maxProcesses: Int
        /// Turns served by a never-used pooled process, by a reused one, and by a cold start.
        public var servedWarm: Int
        public var servedReused: Int
        public var servedCold: Int
        public var retired: Int
    }

    public func snapshot() -> Snapshot {
        condition.lock()
        defer { condition.unlock() }
        let fresh = state.idle.filter { $0.owner == nil }.count
        return Snapshot(size: settings.size, idleFresh: fresh, idleUsed: state.idle.count - fresh, starting: state.starting,
                        busy: state.checkedOut + state.coldTurns, live: state.live, maxProcesses: settings.maxProcesses,
                        servedWarm: state.servedWarm, servedReused: state.servedReused, servedCold: state.servedCold,
                        retired: state.retiredTotal)
    }

    // MARK: Keeping

    /// Starts the keeper thread, which fills the pool.
    public func start() {
        condition.withLock { keeperStarted = true }
        SystemThread.start(name: "cli-pool", stackBytes: 512 << 10) { [self] in keep() }
    }

    /// Stops starting processes and ends every idle one; turns in progress end theirs as they finish. Waits up to
    /// `timeoutMilliseconds` for the keeper to finish.
    public func stop(timeoutMilliseconds: Int = 5_000) {
        condition.lock()
        let wasRunning = !state.stopped && keeperStarted
        state.stopped = true
        stopSignal.fire()
        while !state.idle.isEmpty { retire(at: 0) }
        condition.broadcast()
        condition.unlock()
        if wasRunning { _ = keeperDone.wait(timeout: .now() + .milliseconds(timeoutMilliseconds)) }
    }

    private func keep() {
        defer { keeperDone.signal() }
        while true {
            condition.lock()
            retireExpired(now: clock.now())
            watchIdle()
            let retired = state.retired
            state.retired = []
            state.ending += retired.count
            let spawn = shouldSpawn(now: clock.now())
            if spawn { state.starting += 1 }
            let finished = state.stopped && retired.isEmpty
            if retired.isEmpty && !spawn && !finished {
                condition.wait(untilMonotonicNanoseconds: Syscalls.monotonicNanoseconds() &+ Self.watchIntervalNanoseconds)
            }
            condition.unlock()

            for cli in retired { _ = cli.end(graceMilliseconds: configuration.killGraceMilliseconds) }
            if !retired.isEmpty {
                condition.lock()
                state.ending -= retired.count
                condition.unlock()
            }
            if spawn { startOne() }
            if finished { return }
        }
    }

    private func shouldSpawn(now: UInt64) -> Bool {
        !state.stopped && state.starting == 0 && state.pooledCount < settings.size && state.live < settings.maxProcesses
            && now >= state.nextSpawnAt
    }

    /// Starts one CLI and waits for its first line (it prints `system/ui_invalidate` when it is ready for input).
    private func startOne() {
        let started = launchIdleCLI()
        condition.lock()
        defer { condition.unlock() }
        state.starting -= 1
        guard let cli = started else {
            state.spawnFailuresInARow += 1
            let backoff = min(60, 1 << min(state.spawnFailuresInARow, 6))
            state.nextSpawnAt = clock.now() + UInt64(backoff) * 1_000_000_000
            return
        }
        state.spawnFailuresInARow = 0
        if state.stopped {
            state.retired.append(cli)
        } else {
            state.idle.append(cli)
        }
        condition.broadcast()
    }

    private func launchIdleCLI() -> PooledCLI? {
        guard let executable = executable() else { return nil }
        let scratch: ScratchDirectory
        do { scratch = try ScratchDirectory(parent: configuration.scratchRoot, freeSpace: freeSpace) } catch {
            logger.error("pool: cannot create a scratch folder", ["error": .string("\(error)")])
            return nil
        }
        let invocation = CLIInvocation.pooled(configuration: configuration, executable: executable, cliModel: launchModel,
                                              scratchDirectory: scratch.path)
        do {
            for file in invocation.files { try scratch.write(file.contents, to: file.path) }
        } catch {
            logger.error("pool: cannot write the CLI's input files", ["error": .string("\(error)")])
            scratch.remove()
            return nil
        }
        let startedAt = clock.now()
        let session: CLISession
        do { session = try CLISession.launch(invocation.process, launcher: launcher, clock: clock) } catch {
            logger.error("pool: cannot start the CLI", ["cli": .string(executable), "error": .string("\(error)")])
            scratch.remove()
            return nil
        }
        let cli = PooledCLI(session: session, scratch: scratch, executable: executable, startedAt: startedAt,
                            settings: .atLaunch(cliModel: launchModel))
        let limits = ProcessPoller.Limits(deadline: startedAt + Self.startTimeoutNanoseconds, stallNanoseconds: Self.startTimeoutNanoseconds,
                                          idleNanoseconds: Self.startTimeoutNanoseconds)
        let watch = ProcessPoller.Watch(cancellation: stopSignal)
        var ending = session.run(limits: limits, watch: watch) { _ in .done }
        if ending == .consumerFinished { ending = warmUp(session, limits: limits, watch: watch) }
        guard ending == .consumerFinished else {
            let exit = cli.end(graceMilliseconds: configuration.killGraceMilliseconds)
            if ending == .cancelled { return nil }  // the service is stopping
            logger.error("pool: a pre-started CLI did not become ready", ["ending": .string("\(ending)"), "cli_exit": .string("\(exit)"),
                                                                          "stderr": .string(LogRedaction.redact(session.stderrText))])
            return nil
        }
        return cli
    }

    /// The CLI does much of its first turn's work (its `system/init`) at its first user line: one line that asks
    /// nothing upstream (`shouldQuery: false`), rewound at once, takes that off the first request (~190 -> ~110 ms to
    /// its first token, measured). `consumerFinished` when the CLI took it and is clean again.
    private func warmUp(_ session: CLISession, limits: ProcessPoller.Limits, watch: ProcessPoller.Watch) -> ProcessPoller.Ending {
        let id = UUID().uuidString.lowercased()
        let line: JSONValue = .object(["type": .string("user"), "shouldQuery": .bool(false), "uuid": .string(id),
                                       "message": .object(["role": .string("user"), "content": .array([
                                           .object(["type": .string("text"), "text": .string("warm-up")])])])])
        session.send(object: line)
        let acknowledged = session.run(limits: limits, watch: watch) { event in
            if case .result = event { return .done }
            return .more
        }
        guard acknowledged == .consumerFinished else { return acknowledged }
        switch session.rewind(to: id, limits: limits, watch: watch) {
        case .rewound: return .consumerFinished
        case .refused: return .outputEnded
        case .noAnswer(let ending): return ending
        }
    }

    /// Under the lock: idle processes that ended, or print while idle, are retired (the keeper starts others).
    private func watchIdle() {
        var index = 0
        while index < state.idle.count {
            let poller = state.idle[index].session.poller
            if !poller.collectAvailableOutput() || poller.pendingLines > Self.maxIdleLines {
                logger.warning("pool: an idle CLI ended or misbehaved; replacing it", ["lines": .int(poller.pendingLines),
                                                                                      "stderr": .string(LogRedaction.redact(poller.stderrText))])
                retire(at: index)
            } else {
                index += 1
            }
        }
    }

    /// Under the lock.
    private func retireExpired(now: UInt64) {
        var index = 0
        while index < state.idle.count {
            if isExpired(state.idle[index], now: now) { retire(at: index) } else { index += 1 }
        }
    }

    private func isExpired(_ cli: PooledCLI, now: UInt64) -> Bool {
        now >= cli.startedAt + UInt64(settings.maxAgeSeconds) * 1_000_000_000
    }

    /// Under the lock.
    private func retire(at index: Int) {
        state.retired.append(state.idle.remove(at: index))
        state.retiredTotal += 1
    }
}
