/// A failure of the FastCGI transport, with the libfcgi or system call that failed.
public struct FastCGIError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case initializationFailed
        case socketSetupFailed
        case addressInUse
        case acceptFailed
        case invalidPeerList
        case peerListRequired
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
