import Foundation

/// A private folder for one request: the CLI's working directory and (by default) its HOME. Removed afterwards.
public struct ScratchDirectory: Sendable {
    public let path: String

    public init(parent: String) throws {
        path = try Syscalls.makeTemporaryDirectory(in: parent, prefix: "cca-")
    }

    public func write(_ bytes: [UInt8], to file: String) throws {
        let url = URL(fileURLWithPath: file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Removes the folder holding `file` when it is not inside this scratch folder (it is then this request's own).
    public func removeOutside(_ file: String) {
        guard !file.hasPrefix(path + "/") else { return }
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: file).deletingLastPathComponent())
    }
}
