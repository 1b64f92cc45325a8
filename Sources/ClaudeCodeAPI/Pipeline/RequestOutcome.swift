/// What one request came to, for the access log.
public struct RequestOutcome: Sendable {
    public var status: Int
    public var model: String?
    public var stream: Bool?
    public var finishReason: FinishReason?
    public var usage: Usage?
    public var errorCode: String?
    public var clientDisconnected = false
    public var cliExit: String?

    public init(status: Int) { self.status = status }

    /// The client left before a CLI started (logged as nginx logs it: 499).
    public static func clientGone(model: String?) -> RequestOutcome {
        var outcome = RequestOutcome(status: 499)
        outcome.model = model
        outcome.clientDisconnected = true
        return outcome
    }

    public init(error: APIError) {
        status = error.status
        errorCode = error.code ?? error.type
    }
}
