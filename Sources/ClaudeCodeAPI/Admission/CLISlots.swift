import FoundationEssentials
import SystemCalls

/// The cap on live CLI processes (php-fpm's `pm.max_children`), with a bounded wait for a free slot.
public final class CLISlots: @unchecked Sendable {
    public let capacity: Int
    private let condition = ConditionLock()
    private var busy = 0
    private var maxBusy = 0
    private var waiting = 0
    private var draining = false
    /// Times a request found every slot busy and waited in vain (php-fpm's "max children reached").
    private var refusals = 0

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public struct Snapshot: Sendable, Equatable, Encodable {
        public var busy: Int
        /// The most slots ever busy at once.
        public var maxBusy: Int
        public var waiting: Int
        public var capacity: Int
        /// Requests refused because every slot stayed busy (php-fpm: "max children reached").
        public var refusals: Int
    }

    public var snapshot: Snapshot {
        condition.lock(); defer { condition.unlock() }
        return Snapshot(busy: busy, maxBusy: maxBusy, waiting: waiting, capacity: capacity, refusals: refusals)
    }

    public enum Admission: Equatable, Sendable {
        case admitted
        /// No slot freed up in time, or the service is stopping.
        case refused
        /// The client left while waiting.
        case abandoned
    }

    /// Takes a slot, waiting up to `timeoutMilliseconds`; `clientLeft` is asked every 50 ms while waiting.
    public func acquire(timeoutMilliseconds: Int, clientLeft: () -> Bool = { false }) -> Admission {
        condition.lock(); defer { condition.unlock() }
        let deadline = Syscalls.monotonicNanoseconds() &+ UInt64(max(0, timeoutMilliseconds)) * 1_000_000
        waiting += 1
        defer { waiting -= 1 }
        while busy >= capacity && !draining && Syscalls.monotonicNanoseconds() < deadline {
            condition.wait(untilMonotonicNanoseconds: min(deadline, Syscalls.monotonicNanoseconds() &+ 50_000_000))
            if busy >= capacity && clientLeft() { return .abandoned }
        }
        guard busy < capacity, !draining else {
            refusals += 1
            return .refused
        }
        busy += 1
        maxBusy = max(maxBusy, busy)
        return .admitted
    }

    public func release() {
        condition.lock()
        busy -= 1
        condition.signal()
        condition.unlock()
    }

    /// Refuses every new request from now on (shutdown).
    public func stopAdmitting() {
        condition.lock()
        draining = true
        condition.broadcast()
        condition.unlock()
    }

    public var isDraining: Bool {
        condition.lock(); defer { condition.unlock() }
        return draining
    }
}
