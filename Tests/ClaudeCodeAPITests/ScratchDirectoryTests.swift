import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("The scratch folder of a turn")
struct ScratchDirectoryTests {
    @Test("a nearly full disk is a clear 503 scratch_unavailable, and no CLI starts")
    func diskFull() throws {
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl")
        let app = TestApplication(launcher: launcher, freeSpace: { _ in 1 << 20 })
        let response = app.chat()
        #expect(response.status == 503)
        #expect(response.header("Retry-After") == "5")
        let error = try #require(response.json["error"] as? [String: Any])
        #expect(error["code"] as? String == "scratch_unavailable")
        #expect((error["message"] as? String)?.contains("request id test") == true)
        #expect((error["message"] as? String)?.contains("KiB") == false)  // no server detail for the client
        #expect(app.logLines.all.contains { $0.contains("cannot create scratch folder") && $0.contains("1024 KiB free") })
        #expect(launcher.launches.value == 0)
    }

    @Test("just enough room is enough")
    func enoughRoom() throws {
        let launcher = ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl")
        let app = TestApplication(launcher: launcher, freeSpace: { _ in ScratchDirectory.minimumFreeBytes })
        #expect(app.chat().status == 200)
        #expect(launcher.launches.value == 1)
    }

    @Test("the folder is private and goes away with the turn")
    func privateAndRemoved() throws {
        let parent = NSTemporaryDirectory()
        let scratch = try ScratchDirectory(parent: parent)
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        try scratch.write(Array("x".utf8), to: "\(scratch.path)/a/b.txt")
        scratch.remove()
        #expect(!FileManager.default.fileExists(atPath: scratch.path))
    }
}
