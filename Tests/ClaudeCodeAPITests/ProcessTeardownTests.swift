import Foundation
import Testing
import SystemCalls
@testable import ClaudeCodeAPI

@Suite("Real child processes: groups, teardown, descriptors", .serialized)
struct ProcessTeardownTests {
    /// What our descriptors point at ("pipe:[123]"...). Other suites run in parallel, so tests compare the
    /// pipes of one child, not descriptor counts.
    static func openTargets() -> Set<String> {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") })
    }

    func target(of fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
    }

    func isAlive(_ pid: Int32) -> Bool {
        // A zombie counts as gone from the outside but is still listed: read its state.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        let state = stat.split(separator: ")").last?.split(separator: " ").first
        return state != "Z"
    }

    /// The first stdout line of `process`, read within `seconds`.
    func firstLine(of process: any ChildProcess, seconds: Double = 5) -> String? {
        let poller = ProcessPoller(process: process, clock: SystemClock())
        var line: String?
        let limits = ProcessPoller.Limits(deadline: SystemClock().now() + UInt64(seconds * 1e9), stallNanoseconds: .seconds(60),
                                          idleNanoseconds: .seconds(60))
        _ = poller.run(limits: limits, onLine: { bytes in line = String(decoding: bytes, as: UTF8.self); return .done }, onIdle: {})
        return line
    }

    @Test("terminate ends the whole process group, grandchildren included, and reaps the leader")
    func groupTeardown() throws {
        let process = try PosixProcessLauncher().launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "sleep 60 & echo $!; wait"], environment: ["PATH": "/bin:/usr/bin"]))
        let leader = try #require(process.pid)
        let pipes = [process.standardInput, process.standardOutput, process.standardError].compactMap(target(of:))
        #expect(pipes.count == 3)
        let grandchild = try #require(firstLine(of: process).flatMap { Int32($0) })
        #expect(isAlive(grandchild))

        let start = Date()
        let exit = TeardownSequence.terminate(graceMilliseconds: 200).run(on: process)
        #expect(Date().timeIntervalSince(start) < 5)  // the shell dies of SIGTERM; no wait for the grandchild's 60 s
        #expect(exit == .signalled(SIGTERM))
        // SIGKILL has been sent to the group before the leader was reaped: the grandchild is dying or dead.
        #expect(waitUntil(seconds: 5) { !isAlive(grandchild) })
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(leader)"))  // reaped: no zombie left
        #expect(Self.openTargets().isDisjoint(with: pipes))
    }

    @Test("a child that ignores SIGTERM is killed after the grace period")
    func stubbornChild() throws {
        let process = try PosixProcessLauncher().launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "trap '' TERM; echo ready; sleep 60"], environment: ["PATH": "/bin:/usr/bin"]))
        #expect(firstLine(of: process) == "ready")
        let start = Date()
        let exit = TeardownSequence.terminate(graceMilliseconds: 300).run(on: process)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.25 && elapsed < 5)
        #expect(exit == .signalled(SIGKILL))
    }

    @Test("a child that exits by itself is waited for, not signalled")
    func exitsByItself() throws {
        let process = try PosixProcessLauncher().launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "exit 3"], environment: ["PATH": "/bin:/usr/bin"]))
        let exit = TeardownSequence.exitByItself(waitingMilliseconds: 5_000, graceMilliseconds: 100).run(on: process)
        #expect(exit == .exited(code: 3))
    }

    @Test("the child gets exactly the environment given and none of our descriptors")
    func cleanChild() throws {
        let process = try PosixProcessLauncher().launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "env; ls /proc/self/fd"], environment: ["ONLY": "this", "PATH": "/bin:/usr/bin"]))
        let poller = ProcessPoller(process: process, clock: SystemClock())
        poller.closeInput()
        var lines: [String] = []
        let ending = poller.run(limits: .init(deadline: SystemClock().now() + .seconds(5), stallNanoseconds: .seconds(5), idleNanoseconds: .seconds(5)),
                                onLine: { lines.append(String(decoding: $0, as: UTF8.self)); return .more }, onIdle: {})
        #expect(ending == .outputEnded)
        #expect(TeardownSequence.exitByItself(waitingMilliseconds: 1_000, graceMilliseconds: 100).run(on: process) == .exited(code: 0))
        #expect(lines.contains("ONLY=this"))
        #expect(!lines.contains { $0.hasPrefix("HOME=") })
        // ls sees 0, 1, 2 and its own directory handle, nothing else.
        let descriptors = lines.compactMap { Int($0) }
        #expect(descriptors.filter { $0 > 3 }.isEmpty)
    }

    @Test("a missing program is reported as ENOENT, leaking no descriptor and no registered process")
    func missingProgram() {
        let launcher = PosixProcessLauncher()
        let before = Self.openTargets().filter { $0.hasPrefix("pipe:") }
        let error = #expect(throws: SystemError.self) {
            try launcher.launch(ProcessSpec(executable: "/nonexistent/claude", arguments: [], environment: [:]))
        }
        #expect(error?.errno == ENOENT)
        // Each failed launch would leak six pipe ends; other suites running meanwhile hold a few dozen at most.
        for _ in 0..<200 { _ = try? launcher.launch(ProcessSpec(executable: "/nonexistent/claude", arguments: [], environment: [:])) }
        let appeared = Self.openTargets().filter { $0.hasPrefix("pipe:") }.subtracting(before)
        #expect(appeared.count < 100)
        #expect(launcher.registry.count == 0)
    }

    @Test("killAll SIGKILLs every live child of the launcher (the last step of a shutdown)")
    func killAll() throws {
        let launcher = PosixProcessLauncher()
        let children = try (0..<2).map { _ in
            try launcher.launch(ProcessSpec(executable: "/bin/sh", arguments: ["-c", "trap '' TERM; echo ready; sleep 60"],
                                            environment: ["PATH": "/bin:/usr/bin"]))
        }
        for child in children { #expect(firstLine(of: child) == "ready") }
        #expect(launcher.registry.count == 2)
        launcher.killAll()
        for child in children {
            #expect(waitUntil(seconds: 5) { child.hasExited() })
            #expect(child.reap() == .signalled(SIGKILL))
        }
        #expect(launcher.registry.count == 0)
    }
}
