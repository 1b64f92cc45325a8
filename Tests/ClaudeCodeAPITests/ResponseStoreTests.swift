import Foundation
import Synchronization
import Testing
import SQLite
@testable import ClaudeCodeAPI

@Suite("Stored responses in SQLite")
struct ResponseStoreTests {
    /// A store in a fresh temporary folder, with a clock the test moves.
    final class Fixture: Sendable {
        let folder: String
        let clock = TestClock()
        let store: SQLiteResponseStore

        init(ttlSeconds: Int = 100, maxBytesPerOwner: Int = 1 << 20) throws {
            folder = NSTemporaryDirectory() + "cca-store-" + UUID().uuidString
            let clock = self.clock
            store = try SQLiteResponseStore(directory: folder, ttlSeconds: ttlSeconds, maxBytesPerOwner: maxBytesPerOwner,
                                            now: { clock.now })
        }

        deinit { try? FileManager.default.removeItem(atPath: folder) }

        func advance(_ seconds: Int) { clock.advance(seconds) }
    }

    static func response(_ id: String, owner: String = "", previous: String? = nil, text: String = "hi", at time: Int = 1_000) -> StoredResponse {
        StoredResponse(id: id, owner: owner, createdAt: time, previousResponseID: previous,
                       response: .object(["id": .string(id), "output": .array([.object(["type": .string("message"), "text": .string(text)])])]),
                       inputItems: [.object(["type": .string("message"), "id": .string("msg_\(id)")])])
    }

    @Test("a saved response reads back, and another owner sees nothing: not found, not deletable")
    func ownership() throws {
        let fixture = try Fixture()
        try fixture.store.save(Self.response("resp_a", owner: "alice"))
        #expect(try fixture.store.response(id: "resp_a", owner: "alice") == Self.response("resp_a", owner: "alice"))
        #expect(try fixture.store.response(id: "resp_a", owner: "bob") == nil)
        #expect(try fixture.store.chain(endingWith: "resp_a", owner: "bob").isEmpty)
        #expect(try fixture.store.delete(id: "resp_a", owner: "bob") == false)
        #expect(try fixture.store.delete(id: "resp_a", owner: "alice") == true)
        #expect(try fixture.store.response(id: "resp_a", owner: "alice") == nil)
    }

    @Test("a chain reads oldest first and stops at a deleted link")
    func chain() throws {
        let fixture = try Fixture()
        try fixture.store.save(Self.response("r1"))
        try fixture.store.save(Self.response("r2", previous: "r1"))
        try fixture.store.save(Self.response("r3", previous: "r2"))
        #expect(try fixture.store.chain(endingWith: "r3", owner: "").map(\.id) == ["r1", "r2", "r3"])
        _ = try fixture.store.delete(id: "r2", owner: "")
        #expect(try fixture.store.chain(endingWith: "r3", owner: "").map(\.id) == ["r3"])
    }

    @Test("expired responses are invisible at once and removed by later writes, a bounded batch at a time")
    func expiry() throws {
        let fixture = try Fixture(ttlSeconds: 10)
        for index in 0..<(SQLiteResponseStore.sweepBatch + 5) { try fixture.store.save(Self.response("old\(index)")) }
        fixture.advance(11)
        #expect(try fixture.store.response(id: "old0", owner: "") == nil)
        try fixture.store.save(Self.response("new1"))
        #expect(try rows(fixture) == 5 + 1, "one write removes at most one batch")
        try fixture.store.save(Self.response("new2"))
        #expect(try rows(fixture) == 2)
    }

    @Test("over the owner's cap, that owner's oldest responses go; other owners keep theirs")
    func cap() throws {
        let size = Self.response("x").response.jsonText.utf8.count + JSONValue.array(Self.response("x").inputItems).jsonText.utf8.count
        let fixture = try Fixture(maxBytesPerOwner: size * 3 + size / 2)
        try fixture.store.save(Self.response("b1", owner: "bob"))
        for index in 1...5 { try fixture.store.save(Self.response("a\(index)", owner: "alice", at: 1_000 + index)) }
        for index in 1...2 { #expect(try fixture.store.response(id: "a\(index)", owner: "alice") == nil) }
        for index in 3...5 { #expect(try fixture.store.response(id: "a\(index)", owner: "alice") != nil) }
        #expect(try fixture.store.response(id: "b1", owner: "bob") != nil)
    }

    @Test("worker threads save and read concurrently")
    func concurrency() throws {
        let fixture = try Fixture()
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<25 {
                let id = "w\(worker)-\(index)"
                do {
                    try fixture.store.save(Self.response(id))
                    if try fixture.store.response(id: id, owner: "") == nil { failures.withLock { $0 += 1 } }
                } catch {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(try rows(fixture) == 200)
    }

    /// Rows in the file, expired or not, read past the store.
    private func rows(_ fixture: Fixture) throws -> Int {
        let db = try SQLiteConnection(path: fixture.folder + "/" + SQLiteResponseStore.fileName, readOnly: true)
        return Int(try db.query("SELECT count(*) FROM responses").first?.first?.integer ?? -1)
    }
}

/// Unix seconds that move only when told to.
final class TestClock: Sendable {
    private let seconds = Atomic<Int>(1_000)
    var now: Int { seconds.load(ordering: .relaxed) }
    func advance(_ by: Int) { seconds.add(by, ordering: .relaxed) }
}
