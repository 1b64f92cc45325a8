/// A graceful stop, step by step, with every wait named (the shape of swift-service-lifecycle's
/// `ServiceGroupConfiguration`): tell the service manager, stop admitting turns, stop accepting connections, let
/// in-flight requests finish within the drain timeout, then end the turns still running, and as a last resort kill
/// every CLI group.
/// The steps are closures, so a test drives the whole sequence without signals or a server.
public struct ShutdownSequence {
    public struct Timeouts: Sendable, Equatable {
        /// How long in-flight requests may run after the stop began (`CCA_DRAIN_TIMEOUT_SECONDS`).
        public var drainSeconds: Double
        /// After cancelling the remaining turns: how long their requests get to send `shutting_down` and end.
        public var afterCancelSeconds: Double
        /// After SIGKILL to every CLI group: how long the workers get to notice and finish.
        public var afterKillSeconds: Double

        public init(drainSeconds: Double, afterCancelSeconds: Double = 5, afterKillSeconds: Double = 2) {
            self.drainSeconds = drainSeconds
            self.afterCancelSeconds = afterCancelSeconds
            self.afterKillSeconds = afterKillSeconds
        }
    }

    /// What the sequence acts on.
    public struct Steps {
        /// Tells the service manager that the stop has begun (systemd: `STOPPING=1`), before anything else.
        public var announceStopping: () -> Void
        /// New model turns get 503 `shutting_down` from now on.
        public var stopAdmitting: () -> Void
        /// No new connections (a socket file we made is removed first, so nginx goes elsewhere at once).
        public var stopAccepting: () -> Void
        /// Waits up to the given seconds for every request to finish; true when all did.
        public var waitForRequests: (Double) -> Bool
        /// Ends every turn still running: each client gets `shutting_down`, each CLI its teardown.
        public var cancelTurns: () -> Void
        /// SIGKILLs every CLI process group still alive.
        public var killProcesses: () -> Void

        public init(announceStopping: @escaping () -> Void = {}, stopAdmitting: @escaping () -> Void, stopAccepting: @escaping () -> Void, waitForRequests: @escaping (Double) -> Bool,
                    cancelTurns: @escaping () -> Void, killProcesses: @escaping () -> Void) {
            self.announceStopping = announceStopping
            self.stopAdmitting = stopAdmitting
            self.stopAccepting = stopAccepting
            self.waitForRequests = waitForRequests
            self.cancelTurns = cancelTurns
            self.killProcesses = killProcesses
        }
    }

    /// How far the stop had to go.
    public enum Result: Equatable, Sendable {
        /// Every request finished within the drain timeout.
        case drained
        /// Turns had to be cancelled; then every request finished.
        case cancelledTurns
        /// CLIs had to be killed; `finished` tells whether every request ended after that.
        case killedProcesses(finished: Bool)
    }

    public let timeouts: Timeouts
    public let steps: Steps
    let logger: Logger

    public init(timeouts: Timeouts, steps: Steps, logger: Logger) {
        self.timeouts = timeouts
        self.steps = steps
        self.logger = logger
    }

    public func run() -> Result {
        steps.announceStopping()
        steps.stopAdmitting()
        steps.stopAccepting()
        if steps.waitForRequests(timeouts.drainSeconds) { return .drained }
        logger.warning("drain deadline passed; ending the remaining turns", ["drain_seconds": .int(Int(timeouts.drainSeconds))])
        steps.cancelTurns()
        if steps.waitForRequests(timeouts.afterCancelSeconds) { return .cancelledTurns }
        logger.error("requests still running after their turns were cancelled; killing every CLI")
        steps.killProcesses()
        return .killedProcesses(finished: steps.waitForRequests(timeouts.afterKillSeconds))
    }
}
