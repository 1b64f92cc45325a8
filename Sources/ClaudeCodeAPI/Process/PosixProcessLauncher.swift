import SystemCalls

/// Starts real processes (`Syscalls.spawn`: posix_spawn, own process group, clean signal state, only fds 0-2, exactly
/// the environment given) and keeps a registry of the live ones for shutdown.
public struct PosixProcessLauncher: ProcessLauncher {
    public let registry: ProcessRegistry

    public init(registry: ProcessRegistry = ProcessRegistry()) {
        self.registry = registry
    }

    public func killAll() { registry.killAll() }

    public var liveProcessGroups: Set<Int32> { registry.liveGroups }

    public func launch(_ spec: ProcessSpec) throws(SystemError) -> any ChildProcess {
        var opened: [Int32] = []
        func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
            let ends = try Syscalls.pipe()
            opened += [ends.read, ends.write]
            return ends
        }
        do {
            let stdin = try pipe(), stdout = try pipe(), stderr = try pipe()
            let pid = try Syscalls.spawn(executable: spec.executable, arguments: spec.arguments, environment: spec.environment,
                                         workingDirectory: spec.workingDirectory,
                                         standardInput: stdin.read, standardOutput: stdout.write, standardError: stderr.write)
            [stdin.read, stdout.write, stderr.write].forEach(Syscalls.close)
            for fd in [stdin.write, stdout.read, stderr.read] { try? Syscalls.setNonBlocking(fd) }
            registry.insert(pid)
            return PosixChildProcess(pid: pid, standardInput: stdin.write, standardOutput: stdout.read, standardError: stderr.read,
                                     registry: registry)
        } catch {
            opened.forEach(Syscalls.close)
            throw error
        }
    }
}

/// A process started by `PosixProcessLauncher`; its pid is also its process group id.
final class PosixChildProcess: ChildProcess {
    let processID: Int32
    private(set) var standardInput: Int32
    private(set) var standardOutput: Int32
    private(set) var standardError: Int32
    private let registry: ProcessRegistry
    private var exit: ProcessExit?

    init(pid: Int32, standardInput: Int32, standardOutput: Int32, standardError: Int32, registry: ProcessRegistry) {
        self.processID = pid
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.registry = registry
    }

    /// A session dropped without a teardown still leaves nothing behind.
    deinit { if exit == nil { TeardownSequence.kill.run(on: self) } }

    var pid: Int32? { processID }

    func closeStandardInput() {
        if standardInput >= 0 { Syscalls.close(standardInput); standardInput = -1 }
    }

    func hasExited() -> Bool {
        exit != nil || Syscalls.hasExited(processID)
    }

    func signalGroup(_ signal: Int32) {
        guard exit == nil else { return }
        Syscalls.killProcessGroup(processID, signal: signal)
    }

    func reap() -> ProcessExit {
        if let exit { return exit }
        let ended = Syscalls.reap(processID).map(ProcessExit.init(waitStatus:)) ?? .lost
        registry.remove(processID)
        exit = ended
        closeStandardInput()
        for fd in [standardOutput, standardError] where fd >= 0 { Syscalls.close(fd) }
        standardOutput = -1
        standardError = -1
        return ended
    }
}
