import FoundationEssentials
import Synchronization

/// Answers "is the CLI there, and which version?" by running `claude --version` (never a model turn).
/// Results are cached briefly so health checks stay cheap.
public final class CLIProbe: Sendable {
    public struct Report: Sendable, Equatable {
        public var path: String?
        public var version: String?
        public var problem: String?
        public var isHealthy: Bool { path != nil && version != nil }
    }

    private let configuredPath: String
    private let searchPath: String?
    private let launcher: any ProcessLauncher
    private let clock: any MonotonicClock
    private let cacheNanoseconds: UInt64
    /// The last report and when it was made; the lock is held while probing, so one probe runs at a time.
    private let cache = Mutex<(report: Report, at: UInt64)?>(nil)

    public init(configuredPath: String, searchPath: String?, launcher: any ProcessLauncher, clock: any MonotonicClock,
                cacheSeconds: Int = 30) {
        self.configuredPath = configuredPath
        self.searchPath = searchPath
        self.launcher = launcher
        self.clock = clock
        self.cacheNanoseconds = .seconds(cacheSeconds)
    }

    /// The CLI's absolute path, looked up again on every call so that installing it later needs no restart.
    public var executablePath: String? { CLIExecutable.resolve(configuredPath, searchPath: searchPath) }

    public var displayName: String { configuredPath }

    public func report() -> Report {
        cache.withLock { cached in
            let now = clock.now()
            if let cached, now < cached.at + cacheNanoseconds, cached.report.path == executablePath { return cached.report }
            let report = probe()
            cached = (report, now)
            return report
        }
    }

    private func probe() -> Report {
        guard let path = executablePath else {
            return Report(path: nil, version: nil, problem: "'\(configuredPath)' not found or not executable")
        }
        let spec = ProcessSpec(executable: path, arguments: ["--version"],
                               environment: ["PATH": searchPath ?? "/usr/bin:/bin", "HOME": FileManager.default.temporaryDirectory.path,
                                             "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1"])
        let process: any ChildProcess
        do { process = try launcher.launch(spec) } catch {
            return Report(path: path, version: nil, problem: "could not start: \(error)")
        }
        let poller = ProcessPoller(process: process, clock: clock)
        poller.closeInput()
        var output: [UInt8] = []
        let ending = poller.run(limits: .init(deadline: clock.now() + .seconds(10), stallNanoseconds: .seconds(10), idleNanoseconds: .seconds(10)),
                                onLine: { line in output += line; output.append(0x0A); return .more },
                                onIdle: {})
        let exit = TeardownSequence.exitByItself(waitingMilliseconds: 2_000, graceMilliseconds: 100).run(on: process)
        let text = String(decoding: output, as: UTF8.self).trimmingWhitespace()
        guard ending == .outputEnded, exit == .exited(code: 0), let version = text.split(separator: " ").first else {
            return Report(path: path, version: nil, problem: "'\(path) --version' failed (\(exit)): \(poller.stderrText)")
        }
        return Report(path: path, version: String(version), problem: nil)
    }
}
