/// Why a CLI process ended, as `claude_code_api_cli_exits_total` counts it.
public enum CLIExitCause: String, CaseIterable, Sendable {
    /// The turn finished (including a cut at `max_tokens` or a stop sequence, where the service ends the CLI).
    case ok
    /// The CLI reported a failed turn (upstream authentication, overload, rate limit, a rejected request, ...).
    case errorResult = "error_result"
    /// Ended by the service because the client went away.
    case disconnect
    /// Ended by the service at the request deadline or after a silence (`CCA_REQUEST_TIMEOUT_SECONDS`,
    /// `CCA_STALL_TIMEOUT_SECONDS`).
    case timeout
    /// Ended before finishing the answer on its own, or failed to start (each failed start counts once).
    case crash
    /// Ended by the service when a shutdown's drain deadline passed.
    case shutdown

    /// The cause of the CLI exit a request's outcome reports; nil when no CLI ran.
    public init?(_ outcome: RequestOutcome) {
        guard let exit = outcome.cliExit, exit != .notStarted, exit != .keptWarm else { return nil }
        if outcome.clientDisconnected { self = .disconnect; return }
        switch outcome.errorCode {
        case nil: self = .ok
        case let code? where code.isTimeout: self = .timeout
        case .shuttingDown?: self = .shutdown
        case .cliFailed?, .internalError?: self = .crash
        case _?: self = .errorResult
        }
    }
}
