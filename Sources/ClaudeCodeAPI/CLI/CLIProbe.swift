import Foundation

/// Answers "is the CLI there, and which version?" by running `claude --version` (never a model turn).
/// Results are cached briefly so health checks stay cheap.
public final class CLIProbe: @unchecked Sendable {
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
    private let lock = NSLock()
    private var cached: (report: Report, at: UInt64)?

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
        lock.lock(); defer { lock.unlock() }
        let now = clock.now()
        if let cached, now < cached.at + cacheNanoseconds, cached.report.path == executablePath { return cached.report }
        let report = probe()
        cached = (report, now)
        return report
    }

    private func probe() -> Report {
        guard let path = executablePath else {
            return Report(path: nil, version: nil, problem: "'\(configuredPath)' not found or not executable")
        }
        let spec = ProcessSpec(executable: path, arguments: ["--version"],
                               environment: ["PATH": searchPath ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory(),
                                             "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1"])
        let process: any ChildProcess
        do { process = try launcher.launch(spec) } catch {
            return Report(path: path, version: nil, problem: "could not start: \(error)")
        }
        var output: [UInt8] = []
        var runner = CLITurnRunner(process: process, standardInput: [], clientDescriptor: nil, clock: clock)
        let deadline = clock.now() + .seconds(10)
        let ending = runner.run(limits: .init(requestDeadline: deadline, stallNanoseconds: .seconds(10), idleNanoseconds: .seconds(10)),
                                onLine: { line in output += line; output.append(0x0A); return .more },
                                onIdle: {})
        let status = process.finish(waitingMilliseconds: 2_000, graceMilliseconds: 100)
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard case .outputEnded = ending, status == 0, let version = text.split(separator: " ").first else {
            return Report(path: path, version: nil, problem: "'\(path) --version' failed (\(status.waitStatusDescription)): \(runner.stderrText)")
        }
        return Report(path: path, version: String(version), problem: nil)
    }
}
