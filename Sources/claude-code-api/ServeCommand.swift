import ArgumentParser
import ClaudeCodeAPI
import FastCGI
import FoundationEssentials
import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// The server (what `claude-code-api` with no arguments runs). Wiring only: configuration -> application -> FastCGI
/// server -> signals (SIGHUP reloads the key file; SIGTERM and SIGINT stop) -> shutdown sequence.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the API on the FastCGI socket (CCA_LISTEN, or fd 0 from systemd or spawn-fcgi). The default.")

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: Configuration
        do {
            configuration = try Configuration.fromEnvironment()
        } catch {
            Logger(level: .info).error("invalid configuration", ["error": .string("\(error)")])
            Glibc.exit(78)  // EX_CONFIG
        }
        let logger = Logger(level: configuration.logLevel)
        let launcher = PosixProcessLauncher()
        // glibc's default (128 KiB), but fixed: a long answer's buffers are given back when the turn is done with them.
        Syscalls.setMemoryMappingThreshold(bytes: 128 << 10)

        // Who may connect to a TCP socket, checked against the configured address before anything is bound
        // (FastCGIServer checks the socket it is given again, an inherited one included).
        let allowedPeers: AllowedPeers
        do {
            allowedPeers = try AllowedPeers(configuration.fastCGIAllowedPeers)
            if let address = configuration.listen { try allowedPeers.check(serving: address) }
        } catch {
            logger.error("invalid configuration", ["error": .string("CCA_LISTEN, CCA_FASTCGI_ALLOWED: \(error)")])
            Glibc.exit(78)  // EX_CONFIG
        }

        let application: APIApplication
        let server: FastCGIServer
        let listener: ListeningSocket
        do {
            application = try APIApplication(configuration: configuration, launcher: launcher, logger: logger)
        } catch let error as APIKeyFileError {
            logger.error("cannot start: the key file cannot be used", ["error": .string(error.description)])
            Glibc.exit(78)  // EX_CONFIG
        } catch {
            logger.error("cannot start", ["error": .string("\(error)")])
            Glibc.exit(1)
        }
        do {
            switch configuration.listen {
            case .unix(let path)?:
                listener = try ListeningSocket.bind(path: path, mode: configuration.socketMode, group: configuration.socketGroup)
            case .ipv4(let host, let port)?:
                listener = try ListeningSocket.bind(ipv4: host, port: port)
            case nil:
                listener = try ListeningSocket.activated(environment: environment) ?? ListeningSocket.inherited()
            case let other?:
                throw FastCGIError(.socketSetupFailed, "cannot listen on \(other)")
            }
            server = try FastCGIServer(listener: listener, allowedPeers: allowedPeers, workers: configuration.workers,
                                       readTimeoutMilliseconds: configuration.requestReadTimeoutMilliseconds,
                                       writeTimeoutMilliseconds: configuration.clientWriteTimeoutSeconds * 1_000,
                                       onWorkerError: { logger.error("worker error", ["error": .string($0)]) },
                                       handler: application)
        } catch {
            logger.error("cannot start", ["error": .string("\(error)")])
            Glibc.exit(1)
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
            "listen": .string(listener.isInherited ? "fd \(listener.descriptor) (\(listener.address))" : "\(listener.address)"),
            "fastcgi_allowed": .string(allowedPeers.addresses.isEmpty ? "any" : allowedPeers.addresses.joined(separator: ",")),
            "workers": .int(configuration.workers), "cli_slots": .int(configuration.maxConcurrentCLI),
            "cli": .string(configuration.claudePath), "pool_size": .int(configuration.pool.size),
            "api_keys": application.authenticator.keys.map { .int($0.count) } ?? .string("off"),
            "notify": .bool(notifier.isEnabled), "watchdog_ping_seconds": .string(heartbeat.pingIntervalSeconds.map { "\($0)" } ?? "off"),
        ])
        if case .ipv4 = listener.address, !listener.address.isLoopback, allowedPeers.addresses.isEmpty {
            logger.warning("FastCGI over TCP without CCA_FASTCGI_ALLOWED: any host that can reach this address can send requests; list the web servers' addresses, and keep the port on a private network", ["listen": .string("\(listener.address)")])
        }
        if application.authenticator.keys == nil {
            logger.warning("API keys are off: anyone who can reach the service is served (set CCA_API_KEYS_FILE to require keys)")
        }

        heartbeat.ready()
        application.startPool()

        while true {
            let signal = signals.next()
            if signal == SIGHUP {
                application.reloadKeys()
                continue
            }
            logger.info("stopping", ["signal": .int(Int(signal)), "in_flight": .int(server.requestsInFlight)])
            let shutdown = ShutdownSequence(
                timeouts: .init(drainSeconds: Double(configuration.drainTimeoutSeconds)),
                steps: .init(
                    announceStopping: { heartbeat.stopping() },
                    stopAdmitting: { application.stopAdmitting() },
                    stopAccepting: {
                        // New requests must go to another instance at once (connect fails, fastcgi_next_upstream): a
                        // socket file we made goes now, and what is already queued on it is still served; a TCP socket
                        // we made stops listening once the workers are told to stop; a socket inherited from systemd
                        // stays, for the next instance.
                        listener.removeFile()
                        server.stopAccepting(drainBacklog: listener.path != nil)
                        listener.stopListening()
                    },
                    waitForRequests: { server.waitForWorkers(timeoutSeconds: $0) },
                    cancelTurns: { application.cancelInFlight() },
                    killProcesses: { launcher.killAll() }),
                logger: logger)
            let result = shutdown.run()
            // Every turn has ended; whatever CLI is still alive (a pooled one still being ended) goes with the service.
            launcher.killAll()
            logger.info("stopped", ["how": .string("\(result)")])
            Glibc.exit(0)
        }
    }
}
