import CSystemShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts real processes with posix_spawn: each in a process group of its own, with a clean signal
/// mask and default dispositions, only descriptors 0-2 open, and exactly the environment given.
public struct PosixProcessLauncher: ProcessLauncher {
    public init() {}

    /// Process groups of every child started here and not yet reaped.
    static let live = LiveProcessGroups()

    /// SIGKILLs every live child group (shutdown after the drain deadline). Their owners then see end of output.
    public static func terminateAll() { live.killAll() }

    public func launch(_ spec: ProcessSpec) throws -> any ChildProcess {
        let stdin = try Syscalls.pipe()
        let stdout: (read: Int32, write: Int32)
        let stderr: (read: Int32, write: Int32)
        do { stdout = try Syscalls.pipe() } catch {
            Syscalls.close(stdin.read); Syscalls.close(stdin.write); throw error
        }
        do { stderr = try Syscalls.pipe() } catch {
            [stdin.read, stdin.write, stdout.read, stdout.write].forEach(Syscalls.close); throw error
        }
        let childEnds = [stdin.read, stdout.write, stderr.write]
        let ourEnds = [stdin.write, stdout.read, stderr.read]
        defer { childEnds.forEach(Syscalls.close) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin.read, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr.write, 2)
        CSystemShims_spawn_file_actions_addclosefrom(&actions, 3)
        if let directory = spec.workingDirectory {
            CSystemShims_spawn_file_actions_addchdir(&actions, directory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD, SIGQUIT] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, spec.executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            ourEnds.forEach(Syscalls.close)
            throw SystemError("posix_spawn \(spec.executable)", errno: rc)
        }
        for fd in ourEnds { try? Syscalls.setNonBlocking(fd) }
        Self.live.insert(pid)
        return PosixChildProcess(pid: pid, standardInput: stdin.write, standardOutput: stdout.read, standardError: stderr.read)
    }
}

/// A process started by `PosixProcessLauncher`; its pid is also its process group id.
final class PosixChildProcess: ChildProcess {
    let processID: pid_t
    private(set) var standardInput: Int32
    private(set) var standardOutput: Int32
    private(set) var standardError: Int32
    private var waitStatus: Int32?

    init(pid: pid_t, standardInput: Int32, standardOutput: Int32, standardError: Int32) {
        self.processID = pid
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    deinit { terminate(graceMilliseconds: 0) }

    var pid: Int32? { processID }

    func closeStandardInput() {
        if standardInput >= 0 { Syscalls.close(standardInput); standardInput = -1 }
    }

    func hasExited() -> Bool {
        waitStatus != nil || Syscalls.hasExited(processID)
    }

    @discardableResult
    func terminate(graceMilliseconds: Int) -> Int32 {
        if let waitStatus { return waitStatus }
        // The leader is not reaped before the group is signalled, so its pid (= the group id) cannot be reused.
        if !Syscalls.hasExited(processID) {
            Syscalls.killProcessGroup(processID, signal: SIGTERM)
            var waited = 0
            while waited < graceMilliseconds && !Syscalls.hasExited(processID) {
                Syscalls.sleep(milliseconds: 5)
                waited += 5
            }
        }
        // Whatever is left in the group (the leader, or anything it started) goes now.
        Syscalls.killProcessGroup(processID, signal: SIGKILL)
        let status = Syscalls.reap(processID)
        PosixProcessLauncher.live.remove(processID)
        waitStatus = status
        closeStandardInput()
        for fd in [standardOutput, standardError] where fd >= 0 { Syscalls.close(fd) }
        standardOutput = -1
        standardError = -1
        return status
    }
}

/// A locked set of live child process groups.
final class LiveProcessGroups: @unchecked Sendable {
    private var groups: Set<pid_t> = []
    private let lock = NSLock()

    func insert(_ pgid: pid_t) { lock.lock(); groups.insert(pgid); lock.unlock() }
    func remove(_ pgid: pid_t) { lock.lock(); groups.remove(pgid); lock.unlock() }

    func killAll() {
        lock.lock(); let all = groups; lock.unlock()
        for pgid in all { Syscalls.killProcessGroup(pgid, signal: SIGKILL) }
    }
}
