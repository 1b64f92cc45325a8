import HTTPCore
import HTTPCore

/// How one API surface writes an `APIError`: as the body of a complete response, and as an event of a stream
/// that has already begun (its status spent). One conforming type per wire format; nothing else renders errors.
public protocol ErrorFormat: Sendable {
    /// The HTTP status the error gets on this surface (Anthropic's API answers overload with 529, for one).
    func status(for error: APIError) -> Int
    func responseBody(for error: APIError) -> [UInt8]
    /// The stream event that reports `error`, including whatever ends the stream in that format.
    func streamEvents(for error: APIError) -> [UInt8]
}

extension ErrorFormat {
    public func status(for error: APIError) -> Int { error.status }
}

extension ResponseWriter {
    /// The one place where an error becomes a complete HTTP response: its status, its headers, its body.
    public func respond(_ error: APIError, in format: any ErrorFormat) throws(ClientDisconnected) {
        try respond(status: format.status(for: error), contentType: "application/json", body: format.responseBody(for: error),
                    headers: error.headers)
    }
}
