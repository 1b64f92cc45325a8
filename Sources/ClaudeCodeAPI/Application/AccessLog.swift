import HTTPCore

/// The one JSON line logged per request: metadata only, never message content or credentials.
struct AccessLog: Sendable {
    let logger: Logger

    func record(_ request: HTTPRequest, _ outcome: RequestOutcome, timing: RequestTiming) {
        var fields: [String: LogValue] = [
            "request_id": .string(request.requestID), "method": .string(request.method.description), "path": .string(request.path),
            "status": .int(outcome.status), "duration_ms": .int(Int(timing.durationNanoseconds / 1_000_000)),
        ]
        if let key = outcome.keyName { fields["key"] = .string(key) }
        if let ttft = timing.timeToFirstTokenNanoseconds { fields["ttft_ms"] = .int(Int(ttft / 1_000_000)) }
        if let model = outcome.model { fields["model"] = .string(model) }
        if let stream = outcome.stream { fields["stream"] = .bool(stream) }
        if let usage = outcome.usage {
            fields["prompt_tokens"] = .int(usage.promptTokens)
            fields["completion_tokens"] = .int(usage.outputTokens)
            fields["cached_tokens"] = .int(usage.cacheReadInputTokens)
        }
        if let reason = outcome.finishReason { fields["finish_reason"] = .string(reason) }
        if let code = outcome.errorCode { fields["error"] = .string(code.rawValue) }
        if outcome.clientDisconnected { fields["client_disconnected"] = .bool(true) }
        if let exit = outcome.cliExit { fields["cli_exit"] = .string(exit.description) }
        if let start = outcome.cliStart { fields["cli_start"] = .string(start.rawValue) }
        logger.info("request", fields)
    }
}
