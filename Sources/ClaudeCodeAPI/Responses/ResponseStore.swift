/// Where stored responses live: the seam a shared database would plug into when several hosts must share them
/// (one host shares the SQLite file, `SQLiteResponseStore`). Every call is scoped to an owner, the client key's
/// name: another owner's response does not exist for the caller. Called from worker threads concurrently.
public protocol ResponseStore: Sendable {
    /// Stores `response` in one transaction (and may remove expired rows and, over the owner's cap, its oldest).
    func save(_ response: StoredResponse) throws(ResponseStoreFailure)
    /// The response, unless it does not exist, has expired, or belongs to another owner.
    func response(id: String, owner: String) throws(ResponseStoreFailure) -> StoredResponse?
    /// The conversation that ends with `id`: the responses of its `previous_response_id` chain, oldest first,
    /// `id` last; empty when `id` is not found. The chain stops at a response that was deleted or expired.
    func chain(endingWith id: String, owner: String) throws(ResponseStoreFailure) -> [StoredResponse]
    /// Deletes the response; false when there was none for this owner.
    func delete(id: String, owner: String) throws(ResponseStoreFailure) -> Bool
}

/// The store could not be read or written (disk full, database locked for too long, damaged file). The detail is
/// for the log.
public struct ResponseStoreFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
