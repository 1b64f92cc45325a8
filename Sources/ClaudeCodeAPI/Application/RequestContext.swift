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
    /// The key the request presented, when keys are on and the route needs one.
    public internal(set) var apiKey: APIKey?
    private let context: ContextResponseWriter

    init(request: HTTPRequest, body: any RequestBodyReader, writer: any ResponseWriter, parameters: [String: String],
         errorFormat: any ErrorFormat) {
        let context = ContextResponseWriter(writer)
        self.request = request
        self.body = body
        self.writer = context
        self.parameters = parameters
        self.errorFormat = errorFormat
        self.context = context
    }

    /// Headers for whatever response this request gets from now on (success or error).
    public func addResponseHeaders(_ added: [HTTPHeader]) {
        context.add(added)
    }

    /// Runs `action` once the response is complete (the writer ended), however the request goes on afterwards.
    public func whenResponseEnds(_ action: @escaping () -> Void) {
        context.onEnd(action)
    }

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
