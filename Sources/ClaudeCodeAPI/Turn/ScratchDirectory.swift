import FoundationEssentials
import SystemCalls

/// A private folder (mode 0700) for one turn: the CLI's working directory and (by default) its HOME. Removed afterwards.
public struct ScratchDirectory: Sendable {
    public let path: String

    /// Below this much free space the CLI is not started: it would fail writing its settings in some
    /// less clear way (or fill the disk to the last byte).
    public static let minimumFreeBytes: UInt64 = 16 << 20

    /// Bytes still free on the file system holding a folder; nil when that cannot be known. A seam for tests.
    public typealias FreeSpaceProbe = @Sendable (String) -> UInt64?
    public static let systemFreeSpace: FreeSpaceProbe = { try? Syscalls.availableBytes(at: $0) }

    public enum Failure: Error, CustomStringConvertible {
        case diskFull(parent: String, freeBytes: UInt64)
        case cannotCreate(SystemError)

        public var description: String {
            switch self {
            case .diskFull(let parent, let free): "only \(free >> 10) KiB free in \(parent)"
            case .cannotCreate(let error): "\(error)"
            }
        }
    }

    /// Makes the folder inside `parent`, after checking that its file system has room.
    public init(parent: String, freeSpace: FreeSpaceProbe = Self.systemFreeSpace) throws(Failure) {
        if let free = freeSpace(parent), free < Self.minimumFreeBytes {
            throw .diskFull(parent: parent, freeBytes: free)
        }
        do { path = try Syscalls.makeTemporaryDirectory(in: parent, prefix: "cca-") } catch { throw .cannotCreate(error) }
    }

    public func write(_ bytes: [UInt8], to file: String) throws {
        let url = URL(fileURLWithPath: file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

}
