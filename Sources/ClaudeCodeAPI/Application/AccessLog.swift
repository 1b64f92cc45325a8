import HTTPCore

/// The one JSON line logged per request: metadata only, never message content or credentials.
struct AccessLog: Sendable {
    let logger: Logger

    func record(_ request: HTTPRequest, _ outcome: RequestOutcome, durationNanoseconds: UInt64) {
        var fields: [String: LogValue] = [
            "request_id": .string(request.requestID), "method": .string(request.method.description), "path": .string(request.path),
            "status": .int(outcome.status), "duration_ms": .int(Int(durationNanoseconds / 1_000_000)),
        ]
        if let key = outcome.keyName { fields["key"] = .string(key) }
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
        logger.info("request", fields)
    }
}
