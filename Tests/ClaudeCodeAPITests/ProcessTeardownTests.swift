import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("Real child processes: groups, teardown, descriptors", .serialized)
struct ProcessTeardownTests {
    /// What our descriptors point at ("pipe:[123]"...). Other suites run in parallel, so tests compare the
    /// pipes of one child, not descriptor counts.
    func openTargets() -> Set<String> {
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

    @Test("terminate ends the whole process group, grandchildren included, and reaps the leader")
    func groupTeardown() throws {
        let process = try PosixProcessLauncher().launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "sleep 60 & echo $!; wait"], environment: ["PATH": "/bin:/usr/bin"]))
        let leader = try #require(process.pid)
        let pipes = [process.standardInput, process.standardOutput, process.standardError].compactMap(target(of:))
        #expect(pipes.count == 3)
        // Read the grandchild's pid from stdout.
        var line: [UInt8] = []
        var byte: UInt8 = 0
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if read(process.standardOutput, &byte, 1) == 1 { if byte == 0x0A { break } else { line.append(byte) } } else { usleep(1000) }
        }
        let grandchild = try #require(Int32(String(decoding: line, as: UTF8.self)))
        #expect(isAlive(grandchild))

        let start = Date()
        process.terminate(graceMilliseconds: 200)
        #expect(Date().timeIntervalSince(start) < 1)
        usleep(50_000)
        #expect(!isAlive(grandchild))
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(leader)"))  // reaped: no zombie left
        #expect(openTargets().isDisjoint(with: pipes))
    }

    @Test("a child that ignores SIGTERM is killed after the grace period")
    func stubbornChild() throws {
        let process = try PosixProcessLauncher().launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "trap '' TERM; echo ready; sleep 60"], environment: ["PATH": "/bin:/usr/bin"]))
        var byte: UInt8 = 0
        while read(process.standardOutput, &byte, 1) != 1 { usleep(1000) }
        let start = Date()
        let status = process.terminate(graceMilliseconds: 300)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.25 && elapsed < 2)
        #expect(status.waitStatusDescription == "signal 9")
    }

    @Test("the child gets exactly the environment given and none of our descriptors")
    func cleanChild() throws {
        let process = try PosixProcessLauncher().launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "env; ls /proc/self/fd"], environment: ["ONLY": "this", "PATH": "/bin:/usr/bin"]))
        var runner = CLITurnRunner(process: process, standardInput: [], clientDescriptor: nil, clock: SystemClock())
        var lines: [String] = []
        _ = runner.run(limits: .init(requestDeadline: SystemClock().now() + .seconds(5), stallNanoseconds: .seconds(5), idleNanoseconds: .seconds(5)),
                       onLine: { lines.append(String(decoding: $0, as: UTF8.self)); return .more }, onIdle: {})
        process.finish(waitingMilliseconds: 1_000, graceMilliseconds: 100)
        #expect(lines.contains("ONLY=this"))
        #expect(!lines.contains { $0.hasPrefix("HOME=") })
        // ls sees 0, 1, 2 and its own directory handle, nothing else.
        let descriptors = lines.compactMap { Int($0) }
        #expect(descriptors.filter { $0 > 3 }.isEmpty)
    }

    @Test("a missing program is reported as ENOENT, leaking nothing")
    func missingProgram() {
        #expect(throws: SystemError.self) {
            try PosixProcessLauncher().launch(ProcessSpec(executable: "/nonexistent/claude", arguments: [], environment: [:]))
        }
    }
}
