import Synchronization
import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// The process groups of every child a launcher started and has not reaped, so that a shutdown can end them all.
public final class ProcessRegistry: Sendable {
    private let groups = Mutex<Set<Int32>>([])

    public init() {}

    func insert(_ pgid: Int32) { groups.withLock { _ = $0.insert(pgid) } }
    func remove(_ pgid: Int32) { groups.withLock { _ = $0.remove(pgid) } }

    public var count: Int { groups.withLock { $0.count } }

    /// The live groups right now.
    public var liveGroups: Set<Int32> { groups.withLock { $0 } }

    public func killAll() {
        for pgid in groups.withLock({ $0 }) { Syscalls.killProcessGroup(pgid, signal: SIGKILL) }
    }
}
