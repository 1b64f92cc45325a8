import Foundation
@testable import ClaudeCodeAPI

/// A key file in a fresh temporary folder, for tests that start an application with keys on. `remove()` when done.
struct KeyFile {
    let folder: URL
    var path: String { folder.appendingPathComponent("keys").path }

    init(_ text: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cca-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        try write(text)
    }

    func write(_ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// The line for a key named `name` whose plain text is `key`.
    static func line(_ name: String, _ key: String, _ options: String = "") -> String {
        "\(name) \(APIKeyDigest(of: key).hex) \(options)"
    }
}
