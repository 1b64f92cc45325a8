import FoundationEssentials
import SystemCalls

/// What the service manager is told while the service runs (systemd's `Type=notify`): `READY=1` once the socket is
/// served, `STATUS=` with the load whenever it changes, `WATCHDOG=1` every half `WATCHDOG_USEC` while the workers are
/// healthy, and `STOPPING=1` when the stop begins. STATUS and WATCHDOG are sent from a thread of their own, which
/// reads the load (and so takes the server's and the slots' locks) before every ping: a worker that has died, or a
/// lock held forever, stops the pings, and systemd restarts the service once `WatchdogSec` passes.
public final class ServiceHeartbeat: @unchecked Sendable {
    /// What `STATUS=` reports.
    public struct Load: Equatable, Sendable {
        public var requestsInFlight: Int
        public var slots: CLISlots.Snapshot

        public init(requestsInFlight: Int, slots: CLISlots.Snapshot) {
            self.requestsInFlight = requestsInFlight
            self.slots = slots
        }
    }

    public enum Phase: Sendable {
        case starting, serving, stopping
    }

    private let notifier: ServiceNotifier
    /// Seconds between two pings: half of `WATCHDOG_USEC`; nil when systemd watches nothing.
    public let pingIntervalSeconds: Double?
    private let statusIntervalSeconds: Double
    private let logger: Logger
    private let load: @Sendable () -> Load
    private let healthy: @Sendable () -> Bool
    private let condition = ConditionLock()
    private var phase = Phase.starting
    private var ended = false
    private var lastStatus: String?
    private var withheld = false
    private var sendFailed = false

    /// `watchdogSeconds`: `WATCHDOG_USEC` in seconds (see `watchdogSeconds(environment:)`), nil without a watchdog.
    /// `load` is read for every STATUS and before every ping; `healthy` decides whether a ping is sent.
    public init(notifier: ServiceNotifier, watchdogSeconds: Double?, statusIntervalSeconds: Double = 1, logger: Logger,
                load: @escaping @Sendable () -> Load, healthy: @escaping @Sendable () -> Bool) {
        self.notifier = notifier
        pingIntervalSeconds = watchdogSeconds.map { $0 / 2 }
        self.statusIntervalSeconds = statusIntervalSeconds
        self.logger = logger
        self.load = load
        self.healthy = healthy
    }

    /// The watchdog systemd set for this process (sd_watchdog_enabled(3)): `WATCHDOG_USEC` in seconds, unless
    /// `WATCHDOG_PID` names another process.
    public static func watchdogSeconds(environment: [String: String], processID: Int32 = Syscalls.processID()) -> Double? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], Int32(pid) != processID { return nil }
        return Double(microseconds) / 1_000_000
    }

    /// The `STATUS=` line: what `systemctl status` shows.
    static func statusText(_ phase: Phase, _ load: Load) -> String {
        let what = switch phase {
        case .starting: "starting"
        case .serving: "serving"
        case .stopping: "stopping"
        }
        return "\(what): \(load.requestsInFlight) requests in flight, \(load.slots.busy) of \(load.slots.capacity) CLI slots busy, \(load.slots.waiting) waiting"
    }

    /// `READY=1` with the first status; from now on the thread reports the load and pings the watchdog.
    public func ready() {
        let status = Self.statusText(.serving, load())
        condition.lock()
        phase = .serving
        lastStatus = status
        tell(["READY": "1", "STATUS": status])
        condition.unlock()
        guard notifier.isEnabled else { return }
        SystemThread.start(name: "service-heartbeat", stackBytes: 256 << 10) { [self] in run() }
    }

    /// `STOPPING=1`: the stop has begun. No more pings (systemd stops watching); the status goes on until the exit.
    public func stopping() {
        let status = Self.statusText(.stopping, load())
        condition.lock()
        phase = .stopping
        lastStatus = status
        tell(["STOPPING": "1", "STATUS": status])
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the thread.
    public func end() {
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        let start = Self.now()
        var nextStatus = start + statusIntervalSeconds
        var nextPing = start  // the first ping at once: starting up took some of the interval already
        while true {
            condition.lock()
            var current = phase
            while !ended {
                let due = current == .serving && pingIntervalSeconds != nil ? min(nextStatus, nextPing) : nextStatus
                let wait = due - Self.now()
                if wait <= 0 { break }
                condition.wait(seconds: wait)
                current = phase
            }
            let finished = ended
            condition.unlock()
            if finished { return }

            let now = Self.now()
            if now >= nextStatus {
                reportStatus(current)
                nextStatus = now + statusIntervalSeconds
            }
            if let interval = pingIntervalSeconds, current == .serving, now >= nextPing {
                ping()
                nextPing = now + interval
            }
        }
    }

    // Every message is sent under the lock, with the phase checked there: nothing said while serving can arrive
    // after STOPPING=1.

    private func reportStatus(_ phase: Phase) {
        let load = load()
        condition.lock(); defer { condition.unlock() }
        guard phase == self.phase else { return }  // stopping() has just said it
        let status = Self.statusText(phase, load)
        guard status != lastStatus else { return }
        lastStatus = status
        tell(["STATUS": status])
    }

    private func ping() {
        _ = load()  // blocks, and so stops the pings, when a lock the workers need is held forever
        let healthy = healthy()
        if healthy {
            condition.lock()
            if phase == .serving { tell(["WATCHDOG": "1"]) }
            condition.unlock()
            if withheld { logger.info("workers healthy again: watchdog pings resumed") }
        } else if !withheld {
            logger.error("workers unhealthy: watchdog pings withheld, systemd restarts the service when WatchdogSec passes")
        }
        withheld = !healthy
    }

    /// Sends one message (with the lock held); the first that cannot be sent is logged: systemd would otherwise
    /// time the start out, or the watchdog, with nothing to say why.
    private func tell(_ fields: KeyValuePairs<String, String>) {
        guard notifier.isEnabled, !notifier.send(fields), !sendFailed else { return }
        sendFailed = true
        logger.error("cannot send to NOTIFY_SOCKET; systemd does not hear of this service's state",
                     ["notify_socket": .string(notifier.address ?? ""), "message": .string(fields.map { $0.key }.joined(separator: ","))])
    }

    private static func now() -> Double { Double(Syscalls.monotonicNanoseconds()) / 1_000_000_000 }
}
