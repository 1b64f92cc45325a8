import ClaudeCodeAPI
import FastCGI
import Foundation
import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

// Wiring only: configuration -> application -> FastCGI server -> systemd notifications -> signals -> shutdown sequence.

let environment = ProcessInfo.processInfo.environment
let configuration: Configuration
do {
    configuration = try Configuration.fromEnvironment()
} catch {
    Logger(level: .info).error("invalid configuration", ["error": .string("\(error)")])
    exit(78)  // EX_CONFIG
}
let logger = Logger(level: configuration.logLevel)
let launcher = PosixProcessLauncher()

let application: APIApplication
let server: FastCGIServer
let listener: ListeningSocket
do {
    application = try APIApplication(configuration: configuration, launcher: launcher, logger: logger)
    listener = try configuration.listenPath.map { try ListeningSocket.bind(path: $0, mode: configuration.socketMode, group: configuration.socketGroup) }
        ?? ListeningSocket.activated(environment: environment) ?? ListeningSocket.inherited()
    server = try FastCGIServer(listener: listener, workers: configuration.workers,
                               readTimeoutMilliseconds: configuration.requestReadTimeoutMilliseconds,
                               writeTimeoutMilliseconds: configuration.clientWriteTimeoutSeconds * 1_000,
                               onWorkerError: { logger.error("worker error", ["error": .string($0)]) },
                               handler: application)
} catch {
    logger.error("cannot start", ["error": .string("\(error)")])
    exit(1)
}

let notifier = ServiceNotifier(environment: environment)
let heartbeat = ServiceHeartbeat(
    notifier: notifier, watchdogSeconds: ServiceHeartbeat.watchdogSeconds(environment: environment), logger: logger,
    load: { .init(requestsInFlight: server.requestsInFlight, slots: application.slots.snapshot) },
    healthy: { server.runningWorkers == configuration.workers })

let signals = SignalWaiter()
signals.blockInAllThreads()
server.start()
logger.info("started", [
    "listen": .string(listener.path ?? "fd \(listener.descriptor)"), "workers": .int(configuration.workers),
    "cli_slots": .int(configuration.maxConcurrentCLI), "cli": .string(configuration.claudePath),
    "notify": .bool(notifier.isEnabled), "watchdog_ping_seconds": .string(heartbeat.pingIntervalSeconds.map { "\($0)" } ?? "off"),
])
heartbeat.ready()

while true {
    let signal = signals.next()
    if signal == SIGHUP {
        logger.info("SIGHUP ignored: configuration is read at start; restart to change it")
        continue
    }
    logger.info("stopping", ["signal": .int(Int(signal)), "in_flight": .int(server.requestsInFlight)])
    let shutdown = ShutdownSequence(
        timeouts: .init(drainSeconds: Double(configuration.drainTimeoutSeconds)),
        steps: .init(
            announceStopping: { heartbeat.stopping() },
            stopAdmitting: { application.stopAdmitting() },
            stopAccepting: {
                // A socket file we made goes now, so that nginx sends new requests to another instance at once
                // (connect fails, fastcgi_next_upstream); a socket inherited from systemd stays, for the next instance.
                listener.removeFile()
                server.stopAccepting(drainBacklog: listener.path != nil)
            },
            waitForRequests: { server.waitForWorkers(timeoutSeconds: $0) },
            cancelTurns: { application.cancelInFlight() },
            killProcesses: { launcher.killAll() }),
        logger: logger)
    let result = shutdown.run()
    logger.info("stopped", ["how": .string("\(result)")])
    exit(0)
}
