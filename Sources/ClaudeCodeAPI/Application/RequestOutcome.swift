/// What one request came to, for the access log and the counters.
public struct RequestOutcome: Sendable {
    public var status: Int
    public var model: String?
    public var stream: Bool?
    /// The finish reason in the words of the request's API surface.
    public var finishReason: String?
    public var usage: CLIUsage?
    public var errorCode: APIError.Code?
    public var clientDisconnected = false
    /// How the CLI ended, when the request ran one.
    public var cliExit: ProcessExit?
    /// The name of the API key the request was served under (never the key).
    public var keyName: String?
    /// CLI attempts that failed before any output (retried once, or given up on).
    public var cliStartFailures = 0
    /// When the first token reached the encoder (monotonic nanoseconds), when one did.
    public var firstTokenAt: UInt64?
    /// Where the turn's CLI came from (cold, pooled, reused), when one ran.
    public var cliStart: CLIStart?

    public init(status: Int) { self.status = status }

    public init(error: APIError) {
        status = error.status
        errorCode = error.code
    }

    /// The client left before a CLI started (logged as nginx logs it: 499).
    public static func clientGone(model: String?) -> RequestOutcome {
        var outcome = RequestOutcome(status: 499)
        outcome.model = model
        outcome.clientDisconnected = true
        return outcome
    }

    /// A turn's outcome: the status the client got and what the turn reported.
    public init(status: Int, turn: TurnReport) {
        self.status = status
        usage = turn.completion?.usage
        errorCode = turn.failure?.code
        clientDisconnected = turn.clientDisconnected
        cliExit = turn.cliExit
        cliStartFailures = turn.startFailures
        firstTokenAt = turn.firstOutputAt
        cliStart = turn.start
    }
}
