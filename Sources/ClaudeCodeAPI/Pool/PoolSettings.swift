import FoundationEssentials

/// How the warm pool of pre-started CLIs is sized and recycled (`CCA_POOL_*`, `CCA_MAX_CLI_PROCESSES`).
public struct PoolSettings: Sendable, Equatable {
    /// Idle CLIs kept ready ahead of demand (fresh ones are started until this many are idle); 0 turns the pool off.
    public var size: Int
    /// Requests one process serves before it is retired.
    public var maxUses: Int
    /// Seconds after its start at which a process is retired (idle or when its turn ends).
    public var maxAgeSeconds: Int
    /// CLI processes alive at once, idle and busy: the pool starts none past it, and a cold turn that would pass it
    /// ends an idle one first.
    public var maxProcesses: Int

    public init(size: Int, maxUses: Int = 100, maxAgeSeconds: Int = 3_600, maxProcesses: Int = Self.memoryBasedProcessCap) {
        self.size = size
        self.maxUses = maxUses
        self.maxAgeSeconds = maxAgeSeconds
        self.maxProcesses = maxProcesses
    }

    public static let off = PoolSettings(size: 0)

    public var isEnabled: Bool { size > 0 }

    /// A CLI holds 140-260 MB (it grows with use): at most one per 256 MiB of memory, half of it left to everything else.
    public static var memoryBasedProcessCap: Int {
        max(1, Int(ProcessInfo.processInfo.physicalMemory / 2 / (256 << 20)))
    }

    /// The default for `CCA_POOL_SIZE`: two idle CLIs (~90 MiB PSS and ~0.35 CPU-seconds a minute each) take the CLI's start-up
    /// off the first two requests of a burst; used ones are kept up to the same count, so one client's next request
    /// and a second, parallel one (a title or an autocomplete beside a chat) start warm.
    public static let defaultSize = 2
}
