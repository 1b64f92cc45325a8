/// Why a key file cannot be used. Says where (file, line) and what is wrong, never what the line holds.
public struct APIKeyFileError: Error, Sendable, CustomStringConvertible {
    public var path: String?
    public var line: Int?
    public var message: String

    public init(path: String?, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        [path, line.map { "line \($0)" }].compactMap { $0 }.joined(separator: ", ") + (path == nil && line == nil ? "" : ": ") + message
    }
}
