import HTTPCore

extension TurnRunner {
    /// Runs `turn` into the encoder the request asked for (streaming or one response) and sums it up for the log,
    /// with the finish reason in the surface's own words. Every API surface ends its handler with this.
    func respond<Streaming: TurnEncoder, Buffered: TurnEncoder>(
        _ turn: TurnSpec, streaming stream: Bool, writer: any ResponseWriter,
        streamingEncoder: () -> Streaming, bufferedEncoder: () -> Buffered,
        finishReason: (TurnStopReason) -> String
    ) -> RequestOutcome {
        let status: Int
        let report: TurnReport
        if stream {
            var encoder = streamingEncoder()
            report = run(turn, encoder: &encoder, writer: writer)
            status = encoder.status
        } else {
            var encoder = bufferedEncoder()
            report = run(turn, encoder: &encoder, writer: writer)
            status = encoder.status
        }
        var outcome = RequestOutcome(status: status, turn: report)
        outcome.finishReason = report.completion.map { finishReason($0.stopReason) }
        outcome.stream = stream
        return outcome
    }
}
