/// A failed SQLite call: the result code and SQLite's message (never holding bound values).
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The database is locked by another connection for longer than the busy timeout.
    public var isBusy: Bool { code & 0xFF == 5 || code & 0xFF == 6 }  // SQLITE_BUSY, SQLITE_LOCKED

    public var description: String { "SQLite error \(code): \(message)" }
}
