import Foundation
import Testing
import SystemCalls
@testable import ClaudeCodeAPI

@Suite("What systemd hears while the service runs: READY, STATUS, WATCHDOG, STOPPING")
struct ServiceHeartbeatTests {
    /// The load and the health the heartbeat reads, set by the test; `changing` makes every read a new load.
    final class Probe: @unchecked Sendable {
        private let lock = NSLock()
        private var inFlight = 0
        private var isHealthy = true
        private let changing: Bool
        init(healthy: Bool = true, changing: Bool = false) { isHealthy = healthy; self.changing = changing }

        func load() -> ServiceHeartbeat.Load {
            lock.lock(); defer { lock.unlock() }
            if changing { inFlight += 1 }
            return .init(requestsInFlight: inFlight, slots: .init(busy: 1, maxBusy: 2, waiting: 0, capacity: 4, refusals: 0))
        }
        func healthy() -> Bool { lock.lock(); defer { lock.unlock() }; return isHealthy }
        func set(healthy: Bool) { lock.lock(); isHealthy = healthy; lock.unlock() }
        func set(inFlight value: Int) { lock.lock(); inFlight = value; lock.unlock() }
    }

    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    static func heartbeat(_ manager: NotifySocket, _ probe: Probe, watchdogSeconds: Double?, statusInterval: Double = 60,
                          log: Lines = Lines()) -> ServiceHeartbeat {
        ServiceHeartbeat(notifier: ServiceNotifier(environment: ["NOTIFY_SOCKET": manager.address]),
                         watchdogSeconds: watchdogSeconds, statusIntervalSeconds: statusInterval,
                         logger: Logger(level: .debug, sink: { log.append($0) }),
                         load: { probe.load() }, healthy: { probe.healthy() })
    }

    @Test("READY=1 comes with the first status: requests in flight and CLI slots")
    func ready() throws {
        let manager = try NotifySocket()
        let probe = Probe()
        probe.set(inFlight: 3)
        let heartbeat = Self.heartbeat(manager, probe, watchdogSeconds: nil)
        defer { heartbeat.end() }
        heartbeat.ready()
        #expect(manager.receive(within: 5) == "READY=1\nSTATUS=serving: 3 requests in flight, 1 of 4 CLI slots busy, 0 waiting")
    }

    @Test("the status is sent again when the load changes, and only then")
    func statusOnChange() throws {
        let manager = try NotifySocket()
        let probe = Probe()
        let heartbeat = Self.heartbeat(manager, probe, watchdogSeconds: nil, statusInterval: 0.02)
        defer { heartbeat.end() }
        heartbeat.ready()
        #expect(manager.receive(within: 5)?.hasPrefix("READY=1\n") == true)
        #expect(manager.receive(within: 0.3) == nil, "an unchanged status was sent again")
        probe.set(inFlight: 2)
        #expect(manager.receive(within: 5) == "STATUS=serving: 2 requests in flight, 1 of 4 CLI slots busy, 0 waiting")
    }

    @Test("watchdog pings come every half WATCHDOG_USEC")
    func pingsAtHalfTheInterval() throws {
        let manager = try NotifySocket()
        let heartbeat = Self.heartbeat(manager, Probe(), watchdogSeconds: 2)
        defer { heartbeat.end() }
        #expect(heartbeat.pingIntervalSeconds == 1)
        heartbeat.ready()
        #expect(manager.receive(within: 5)?.hasPrefix("READY=1\n") == true)
        var times: [UInt64] = []
        for _ in 0..<3 {
            let message = manager.receive(within: 5)
            try #require(message == "WATCHDOG=1")
            times.append(Syscalls.monotonicNanoseconds())
        }
        let gaps = zip(times.dropFirst(), times).map { Double($0 - $1) / 1e9 }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        #expect(gaps.allSatisfy { $0 > 0.5 }, "pings faster than half the interval: \(gaps)")
        #expect(mean < 1.5, "pings slower than half the interval: \(gaps)")
    }

    @Test("no ping while the workers are unhealthy (the status goes on); pings resume once they are healthy")
    func noPingWhileUnhealthy() throws {
        let manager = try NotifySocket()
        let probe = Probe(healthy: false, changing: true)
        let log = Lines()
        let heartbeat = Self.heartbeat(manager, probe, watchdogSeconds: 0.1, statusInterval: 0.02, log: log)
        defer { heartbeat.end() }
        heartbeat.ready()
        // Twenty status updates, every 20 ms: ten ping intervals of 50 ms.
        var statuses = 0
        let messages = manager.receive(until: { message in
            if message.hasPrefix("STATUS=") { statuses += 1 }
            return statuses == 20
        })
        #expect(statuses == 20)
        #expect(!messages.contains("WATCHDOG=1"), "pinged while unhealthy: \(messages)")
        #expect(log.all.filter { $0.contains("watchdog pings withheld") }.count == 1)
        probe.set(healthy: true)
        #expect(manager.receive(until: { $0 == "WATCHDOG=1" }).last == "WATCHDOG=1")
    }

    @Test("STOPPING=1 ends the pings; the status goes on, as stopping")
    func stopping() throws {
        let manager = try NotifySocket()
        let probe = Probe(changing: true)
        let heartbeat = Self.heartbeat(manager, probe, watchdogSeconds: 0.1, statusInterval: 0.02)
        defer { heartbeat.end() }
        heartbeat.ready()
        #expect(manager.receive(until: { $0 == "WATCHDOG=1" }).last == "WATCHDOG=1")
        heartbeat.stopping()
        #expect(manager.receive(until: { $0.hasPrefix("STOPPING=1\n") }).last?.hasPrefix("STOPPING=1\nSTATUS=stopping: ") == true)
        var statuses = 0
        let after = manager.receive(until: { message in
            if message.hasPrefix("STATUS=") { statuses += 1 }
            return statuses == 20
        })
        #expect(statuses == 20)
        #expect(after.allSatisfy { $0.hasPrefix("STATUS=stopping: ") }, "\(after)")
    }

    @Test("a service manager that cannot be told is logged once, with the socket's address")
    func sendFailureLogged() throws {
        var manager: NotifySocket? = try NotifySocket()
        let address = manager!.address
        let log = Lines()
        let heartbeat = Self.heartbeat(manager!, Probe(), watchdogSeconds: nil, log: log)
        defer { heartbeat.end() }
        manager = nil
        heartbeat.ready()
        heartbeat.stopping()
        let lines = log.all.filter { $0.contains("cannot send to NOTIFY_SOCKET") }
        #expect(lines.count == 1)
        #expect(lines.first?.contains(address) == true)
    }

    @Test("WATCHDOG_USEC gives the watchdog, unless WATCHDOG_PID names another process")
    func watchdogFromEnvironment() {
        let pid = Syscalls.processID()
        #expect(ServiceHeartbeat.watchdogSeconds(environment: ["WATCHDOG_USEC": "30000000"]) == 30)
        #expect(ServiceHeartbeat.watchdogSeconds(environment: ["WATCHDOG_USEC": "500000", "WATCHDOG_PID": "\(pid)"]) == 0.5)
        #expect(ServiceHeartbeat.watchdogSeconds(environment: ["WATCHDOG_USEC": "500000", "WATCHDOG_PID": "\(pid + 1)"]) == nil)
        for value in ["", "0", "-5", "30s", "1e6"] {
            #expect(ServiceHeartbeat.watchdogSeconds(environment: ["WATCHDOG_USEC": value]) == nil, "WATCHDOG_USEC=\(value)")
        }
        #expect(ServiceHeartbeat.watchdogSeconds(environment: [:]) == nil)
    }
}
