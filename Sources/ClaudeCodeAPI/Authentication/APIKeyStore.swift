import Synchronization

/// The keys in force, read from the key file at start and again on each `reload()` (SIGHUP). A reload swaps the whole
/// set at once; a file that does not parse leaves the keys in force as they were. Requests already admitted are not
/// affected (a revoked key's stream runs to its end).
public final class APIKeyStore: Sendable {
    public let path: String
    private let keys: Mutex<[APIKey]>

    /// Reads `path`; throws when it cannot be used (the service then does not start).
    public init(path: String) throws(APIKeyFileError) {
        self.path = path
        keys = Mutex(try APIKeyFile.load(path: path))
    }

    /// A store with the given keys (tests, benchmarks).
    public init(keys: [APIKey], path: String = "") {
        self.path = path
        self.keys = Mutex(keys)
    }

    public var count: Int { keys.withLock { $0.count } }

    /// Reads the file again. On success the new keys are in force and their count is returned.
    @discardableResult
    public func reload() throws(APIKeyFileError) -> Int {
        let loaded = try APIKeyFile.load(path: path)
        keys.withLock { $0 = loaded }
        return loaded.count
    }

    /// The key whose digest is the presented key's. Every key is compared, each in constant time, so the time taken
    /// says nothing about which key (if any) came close.
    public func key(matching presented: String) -> APIKey? {
        let digest = APIKeyDigest(of: presented)
        let current = keys.withLock { $0 }
        var found: APIKey?
        for key in current where key.digest.matches(digest) && found == nil {
            found = key
        }
        return found
    }
}
