import HTTPCore
import SystemCalls

/// One request on its way through a route: what came in, where the answer goes, and how errors look on this route.
public struct RequestContext {
    public let request: HTTPRequest
    public let body: any RequestBodyReader
    public let writer: any ResponseWriter
    /// Values of the route's `{name}` path segments.
    public let parameters: [String: String]
    /// The wire format of errors on this route's API surface.
    public let errorFormat: any ErrorFormat

    /// Answers with `error` and returns what to log.
    public func fail(_ error: APIError) -> RequestOutcome {
        try? writer.respond(error, in: errorFormat)
        return RequestOutcome(error: error)
    }

    /// Answers with `value` as a JSON body.
    public func respond(json value: some Encodable, status: Int = 200) -> RequestOutcome {
        let body: [UInt8]
        do { body = try JSONWire().body(value) } catch { return fail(.internalError(requestID: request.requestID)) }
        try? writer.respond(status: status, contentType: "application/json", body: body)
        return RequestOutcome(status: status)
    }

    /// Whether the client has hung up (checked without blocking).
    public var clientHasLeft: Bool {
        writer.disconnectDescriptor.map(Syscalls.peerHasHungUp) ?? false
    }
}
