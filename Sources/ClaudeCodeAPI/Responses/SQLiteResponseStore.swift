import FoundationEssentials
import SQLite
import Synchronization

/// Stored responses in one SQLite file in the state folder (`responses.sqlite3`), in WAL mode: readers never wait
/// for the writer, every response is one transaction, committed with `synchronous=FULL` (a completed response
/// survives a crash of the process or the machine). Several responders on one host may share the file (SQLite's
/// locks; writers wait up to the busy timeout). Expired rows are invisible at once and removed a bounded batch per
/// write, so no request ever waits for a sweep; over an owner's byte cap, that owner's oldest responses go.
public final class SQLiteResponseStore: ResponseStore {
    public static let fileName = "responses.sqlite3"
    /// Expired rows removed per write: bounded work on the request path.
    static let sweepBatch = 64
    /// Longest `previous_response_id` chain followed.
    static let maximumChain = 1_000

    private let writer: LockedConnection
    private let readers: [LockedConnection]
    private let nextReader = Atomic<Int>(0)
    private let ttlSeconds: Int
    private let maxBytesPerOwner: Int
    private let now: @Sendable () -> Int

    /// Opens (creating them when missing) the folder and the database.
    public init(directory: String, ttlSeconds: Int, maxBytesPerOwner: Int, readers: Int = 2,
                now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }) throws(ResponseStoreFailure) {
        self.ttlSeconds = ttlSeconds
        self.maxBytesPerOwner = maxBytesPerOwner
        self.now = now
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ResponseStoreFailure("cannot create the state folder: \(error)")
        }
        let path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
        do throws(SQLiteError) {
            let connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA journal_mode=WAL")
            try Self.configure(connection)
            try connection.transaction { () throws(SQLiteError) in try connection.execute(Self.schema) }
            writer = LockedConnection(connection)
            var pool: [LockedConnection] = []
            for _ in 0..<max(1, readers) {
                let reader = try SQLiteConnection(path: path)
                try Self.configure(reader)
                pool.append(LockedConnection(reader))
            }
            self.readers = pool
        } catch {
            throw ResponseStoreFailure("cannot open \(Self.fileName): \(error)")
        }
    }

    private static func configure(_ connection: SQLiteConnection) throws(SQLiteError) {
        try connection.execute("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA trusted_schema=OFF")
    }

    /// Version 1. `owner_usage` keeps each owner's byte total, maintained by triggers on every insert and delete.
    static let schema = """
        CREATE TABLE IF NOT EXISTS responses (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            previous_response_id TEXT,
            response TEXT NOT NULL,
            input_items TEXT NOT NULL,
            bytes INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS responses_by_owner ON responses(owner, created_at);
        CREATE INDEX IF NOT EXISTS responses_by_expiry ON responses(expires_at);
        CREATE TABLE IF NOT EXISTS owner_usage (owner TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
        CREATE TRIGGER IF NOT EXISTS responses_added AFTER INSERT ON responses BEGIN
            INSERT INTO owner_usage(owner, bytes) VALUES (new.owner, new.bytes)
                ON CONFLICT(owner) DO UPDATE SET bytes = bytes + excluded.bytes;
        END;
        CREATE TRIGGER IF NOT EXISTS responses_removed AFTER DELETE ON responses BEGIN
            UPDATE owner_usage SET bytes = bytes - old.bytes WHERE owner = old.owner;
        END;
        PRAGMA user_version = 1;
        """

    public func save(_ stored: StoredResponse) throws(ResponseStoreFailure) {
        let response = stored.response.jsonText
        let input = JSONValue.array(stored.inputItems).jsonText
        let bytes = response.utf8.count + input.utf8.count
        let time = now()
        try writer.use { (db) throws(SQLiteError) in
            try db.transaction { () throws(SQLiteError) in
                try db.run("DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses WHERE expires_at <= ? LIMIT ?)",
                           [SQLiteValue(time), SQLiteValue(Self.sweepBatch)])
                try db.run("""
                    INSERT INTO responses (id, owner, created_at, expires_at, previous_response_id, response, input_items, bytes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.text(stored.id), .text(stored.owner), SQLiteValue(stored.createdAt), SQLiteValue(time + ttlSeconds),
                          SQLiteValue(stored.previousResponseID), .text(response), .text(input), SQLiteValue(bytes)])
                try evictOverCap(db, owner: stored.owner, keeping: stored.id)
            }
        }
    }

    /// Removes the owner's oldest responses (never `keeping`) until the owner is within its cap.
    private func evictOverCap(_ db: SQLiteConnection, owner: String, keeping: String) throws(SQLiteError) {
        guard let used = try db.query("SELECT bytes FROM owner_usage WHERE owner = ?", [.text(owner)]).first?.first?.integer,
              used > maxBytesPerOwner else { return }
        var excess = Int(used) - maxBytesPerOwner
        let oldest = try db.query("SELECT id, bytes FROM responses WHERE owner = ? AND id != ? ORDER BY created_at, rowid LIMIT 256",
                                  [.text(owner), .text(keeping)])
        for row in oldest where excess > 0 {
            try db.run("DELETE FROM responses WHERE id = ?", [row[0]])
            excess -= Int(row[1].integer ?? 0)
        }
    }

    public func response(id: String, owner: String) throws(ResponseStoreFailure) -> StoredResponse? {
        try read { (db) throws(SQLiteError) in
            try db.query("""
                SELECT id, owner, created_at, previous_response_id, response, input_items FROM responses
                WHERE id = ? AND owner = ? AND expires_at > ?
                """, [.text(id), .text(owner), SQLiteValue(now())]).first
        }.flatMap(Self.decode)
    }

    public func chain(endingWith id: String, owner: String) throws(ResponseStoreFailure) -> [StoredResponse] {
        let rows = try read { (db) throws(SQLiteError) in
            try db.query("""
                WITH RECURSIVE chain(id, previous, depth) AS (
                    SELECT id, previous_response_id, 0 FROM responses WHERE id = ?1 AND owner = ?2 AND expires_at > ?3
                    UNION ALL
                    SELECT r.id, r.previous_response_id, c.depth + 1 FROM responses r JOIN chain c ON r.id = c.previous
                    WHERE r.owner = ?2 AND r.expires_at > ?3 AND c.depth < ?4
                )
                SELECT r.id, r.owner, r.created_at, r.previous_response_id, r.response, r.input_items
                FROM chain c JOIN responses r ON r.id = c.id ORDER BY c.depth DESC
                """, [.text(id), .text(owner), SQLiteValue(now()), SQLiteValue(Self.maximumChain)])
        }
        return rows.compactMap(Self.decode)
    }

    public func delete(id: String, owner: String) throws(ResponseStoreFailure) -> Bool {
        let time = now()
        return try writer.use { (db) throws(SQLiteError) in
            try db.transaction { () throws(SQLiteError) in
                try db.run("DELETE FROM responses WHERE id = ? AND owner = ? AND expires_at > ?", [.text(id), .text(owner), SQLiteValue(time)]) > 0
            }
        }
    }

    private func read<T: Sendable>(_ body: (SQLiteConnection) throws(SQLiteError) -> T) throws(ResponseStoreFailure) -> T {
        let index = nextReader.add(1, ordering: .relaxed).oldValue % readers.count
        return try readers[index].use(body)
    }

    private static func decode(_ row: [SQLiteValue]) -> StoredResponse? {
        guard row.count == 6, let id = row[0].text, let owner = row[1].text, let created = row[2].integer,
              let responseText = row[4].text, let inputText = row[5].text,
              let response = try? JSONValue.parse(Array(responseText.utf8), maximumValues: .max),
              case .array(let input)? = try? JSONValue.parse(Array(inputText.utf8), maximumValues: .max) else { return nil }
        return StoredResponse(id: id, owner: owner, createdAt: Int(created), previousResponseID: row[3].text, response: response, inputItems: input)
    }
}

/// A connection used by one thread at a time.
private final class LockedConnection: Sendable {
    private let connection: Mutex<SQLiteConnection>

    init(_ connection: sending SQLiteConnection) {
        self.connection = Mutex(connection)
    }

    func use<T: Sendable>(_ body: (SQLiteConnection) throws(SQLiteError) -> T) throws(ResponseStoreFailure) -> T {
        let result: Result<T, SQLiteError> = connection.withLock { db in
            do throws(SQLiteError) { return .success(try body(db)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw ResponseStoreFailure("\(error)")
        }
    }
}
