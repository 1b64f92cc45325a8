import Foundation
import Testing
import SystemCalls
@testable import ClaudeCodeAPI

@Suite("CLI processes and their memory, read from /proc", .serialized)
struct ProcessGroupUsageTests {
    @Test("every live process of a launched group is counted with its memory; none once the group is reaped")
    func liveGroups() throws {
        let launcher = PosixProcessLauncher()
        // A leader and a child of its own in one group, as a CLI with a helper would be.
        let process = try launcher.launch(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", "sleep 60 & echo started; wait"], environment: ["PATH": "/bin:/usr/bin"]))
        defer { _ = TeardownSequence.kill.run(on: process) }
        let groups = launcher.liveProcessGroups
        #expect(groups == [try #require(process.pid)])
        var usage = ProcessGroupUsage()
        #expect(waitUntil(seconds: 10) {
            usage = ProcessGroupUsage.sample(groups: groups)
            return usage.processes == 2
        }, "saw \(usage)")
        #expect(usage.residentBytes > 100_000)  // two real processes hold some memory
        _ = TeardownSequence.kill.run(on: process)
        #expect(launcher.liveProcessGroups.isEmpty)
        // The leader is reaped by then; its child, signalled in the same kill, dies when the kernel next runs it,
        // which on a loaded machine can be after this line. Dead (or a zombie) it must then stop being counted.
        #expect(waitUntil(seconds: 10) { ProcessGroupUsage.sample(groups: groups).processes == 0 })
    }

    @Test("no groups, no scan")
    func noGroups() {
        #expect(ProcessGroupUsage.sample(groups: []) == ProcessGroupUsage())
    }

    @Test("a stat line is read from after the command name, whatever the name holds")
    func statParsing() throws {
        let line = "4242 (evil) name (x) R) S 1 777 777 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123 4096000 321 18446744073709551615"
        let stat = try #require(ProcessGroupUsage.Stat(Array(line.utf8)))
        #expect(stat.state == "S" && stat.processGroup == 777 && stat.residentPages == 321)
        #expect(ProcessGroupUsage.Stat(Array("garbage".utf8)) == nil)
    }
}
