/// Translates the CLI events of one turn into what the client is told (`TurnEvent`s, neutral of any API surface).
///
/// - Text deltas stream as content; thinking deltas as reasoning (only when asked for).
/// - A message the CLI abandons (`message_stop` with `abandoned_blocks`, then `api_retry`) is re-streamed from the
///   start by the CLI: the replayed part is held back so the client never gets text twice.
/// - Text that only arrives in `assistant` / `result` events (the CLI's non-streaming fallback) is still delivered,
///   once the result confirms success.
/// - Success is decided by the result's `is_error`, never by `subtype`; the CLI's synthetic error text is never content.
/// - A message cut by `max_tokens` ends the turn at once with `length`: left alone, the CLI would ask upstream to
///   continue (up to three more requests) and finally report an error.
/// - Stop sequences are applied here (the CLI cannot send them upstream): the first one ends the turn with
///   `stopSequence`, without the sequence itself.
public struct TurnTranslator {
    private let includeReasoning: Bool
    private var stopMatcher: StopSequenceMatcher
    private var content = DeliveredText()
    private var reasoning = DeliveredText()
    /// UTF-8 bytes of text of the completed messages of this turn (the text itself went to the client).
    private var committedTextCount = 0
    private var committedReasoningCount = 0
    /// UTF-8 bytes of text of the message streaming now.
    private var messageTextCount = 0
    private var messageReasoningCount = 0
    private var streamingMessageID: String?
    /// The id of the last message seen (streamed or not), for the completion.
    private var lastMessageID: String?
    private var announcedStart = false
    /// Text seen only in `assistant` events of messages that never streamed.
    private var unstreamedText: [UInt8] = []
    private var stopReason: String?
    private var lastRetry: CLIRetry?
    /// Usage of the message streaming now, from its message_start and message_delta.
    private var messageUsage = CLIUsage()
    /// Tool calls of the message streaming now, in order, and the content block index of each.
    private var messageToolCalls: [TurnToolCall] = []
    private var toolCallOfBlock: [Int: Int] = [:]
    /// Tool calls seen only in `assistant` events of messages that never streamed.
    private var unstreamedToolCalls: [TurnToolCall] = []
    public private(set) var isFinished = false
    /// The turn was finished here, before the CLI's result: the CLI must be stopped, not waited for.
    public private(set) var finishedBeforeResult = false
    /// The error the turn ended with, if it failed.
    public private(set) var failure: APIError?

    public init(includeReasoning: Bool = false, stopSequences: [String] = []) {
        self.includeReasoning = includeReasoning
        stopMatcher = StopSequenceMatcher(stopSequences)
    }

    public mutating func consume(_ event: CLIEvent) -> [TurnEvent] {
        guard !isFinished else { return [] }
        switch event {
        case .initialized:
            return []
        case .apiRetry(let retry):
            lastRetry = retry
            messageTextCount = 0
            messageReasoningCount = 0
            return []
        case .messageStart(let id, let usage):
            defer { announcedStart = true }
            streamingMessageID = id
            lastMessageID = id ?? lastMessageID
            messageUsage = usage
            messageTextCount = 0
            messageReasoningCount = 0
            messageToolCalls = []
            toolCallOfBlock = [:]
            return announcedStart ? [] : [.started(TurnStart(messageID: id, usage: usage))]
        case .toolUseStart(let block, let id, let name):
            let index = messageToolCalls.count
            toolCallOfBlock[block] = index
            messageToolCalls.append(TurnToolCall(id: id, name: name, arguments: ""))
            // Text held back by a stop sequence that never came belongs before the call.
            return show(stopMatcher.finish()) + [.toolCallStarted(index: index, id: id, name: name)]
        case .inputJSONDelta(let block, let fragment):
            guard let index = toolCallOfBlock[block], !fragment.isEmpty else { return [] }
            messageToolCalls[index].arguments += fragment
            return [.toolCallArguments(index: index, fragment: fragment)]
        case .textDelta(_, let text):
            messageTextCount += text.utf8.count
            var events = show(content.advance(length: committedTextCount + messageTextCount, endingWith: text.utf8))
            if stopMatcher.isStopped {
                // Cut by a stop sequence: the CLI is ended before its result, so usage is what is known so far,
                // with completion tokens estimated from the text (about four bytes a token) when not yet reported.
                isFinished = true
                finishedBeforeResult = true
                var usage = messageUsage
                usage.outputTokens = max(usage.outputTokens, (content.count + 3) / 4)
                events.append(.finished(TurnCompletion(stopReason: .stopSequence(stopMatcher.matchedSequence ?? ""), usage: usage,
                                                       messageID: lastMessageID)))
            }
            return events
        case .thinkingDelta(_, let text):
            guard includeReasoning else { return [] }
            messageReasoningCount += text.utf8.count
            let added = reasoning.advance(length: committedReasoningCount + messageReasoningCount, endingWith: text.utf8)
            return added.isEmpty ? [] : [.reasoning(added)]
        case .messageDelta(let reason, let outputTokens):
            if let reason { stopReason = reason }
            if let outputTokens { messageUsage.outputTokens = outputTokens }
            if reason == "tool_use" && !messageToolCalls.isEmpty {
                // The model called client tools: the turn ends here. Nothing runs on the server, and the CLI is
                // stopped before it could send a second request upstream.
                return finishWithToolCalls(messageToolCalls, usage: messageUsage)
            }
            guard reason == "max_tokens" else { return [] }
            isFinished = true
            finishedBeforeResult = true
            return show(stopMatcher.finish()) + [.finished(TurnCompletion(stopReason: .maxTokens, usage: messageUsage, messageID: lastMessageID))]
        case .messageStop(let abandoned):
            if abandoned && !messageToolCalls.isEmpty {
                // A retry would stream the calls again with new ids: the client has the first ones already.
                isFinished = true
                let error = APIError.toolCallInterrupted()
                failure = error
                return [.failed(error)]
            }
            if !abandoned {
                committedTextCount += messageTextCount
                committedReasoningCount += messageReasoningCount
            }
            messageTextCount = 0
            messageReasoningCount = 0
            streamingMessageID = nil
            return []
        case .assistant(let message):
            if !message.isSynthetic, let id = message.id { lastMessageID = id }
            // Blocks of a streaming message are already covered by its deltas.
            if message.hasText, !message.isSynthetic, message.id == nil || message.id != streamingMessageID {
                unstreamedText.append(contentsOf: message.text.utf8)
            }
            if !message.toolUses.isEmpty, message.id == nil || message.id != streamingMessageID {
                unstreamedToolCalls += message.toolUses.map { TurnToolCall(id: $0.id, name: $0.name, arguments: $0.input.jsonText) }
            }
            return []
        case .controlRequest(let request) where request.subtype == "can_use_tool" && !unstreamedToolCalls.isEmpty:
            // The non-streaming fallback: the calls came only in `assistant` events, and the CLI now asks to run one.
            var events: [TurnEvent] = []
            events += show(content.advance(length: committedTextCount + messageTextCount + unstreamedText.count, endingWith: unstreamedText))
            for (index, call) in unstreamedToolCalls.enumerated() {
                events += [.toolCallStarted(index: index, id: call.id, name: call.name), .toolCallArguments(index: index, fragment: call.arguments)]
            }
            return events + finishWithToolCalls(unstreamedToolCalls, usage: messageUsage)
        case .result(let result):
            return finish(with: result)
        case .controlRequest, .controlResponse, .other:
            return []
        }
    }

    /// The CLI's output ended. Without a result line the turn failed (crash, kill, garbage) with `error`.
    public mutating func outputEnded(failingWith error: APIError) -> [TurnEvent] {
        guard !isFinished else { return [] }
        isFinished = true
        failure = error
        return [.failed(error)]
    }

    private mutating func finish(with result: CLIResult) -> [TurnEvent] {
        isFinished = true
        guard !result.isError else {
            let error = APIError.fromFailedTurn(result, lastRetry: lastRetry)
            failure = error
            return [.failed(error)]
        }
        var events: [TurnEvent] = []
        // Reconcile: the final text is the result's when it is longer than what streamed (else the streamed text,
        // followed by any text that came only in `assistant` events); whatever of it the client has not seen goes now.
        let streamedCount = committedTextCount + messageTextCount
        if let text = result.text, text.utf8.count > streamedCount {
            events += show(content.advance(length: text.utf8.count, endingWith: text.utf8))
        } else if !unstreamedText.isEmpty {
            events += show(content.advance(length: streamedCount + unstreamedText.count, endingWith: unstreamedText))
        }
        if !stopMatcher.isStopped { events += show(stopMatcher.finish()) }
        let reason = stopMatcher.matchedSequence.map(TurnStopReason.stopSequence)
            ?? TurnStopReason(cliStopReason: result.stopReason ?? stopReason)
        events.append(.finished(TurnCompletion(stopReason: reason, usage: result.usage, messageID: lastMessageID)))
        return events
    }

    private mutating func finishWithToolCalls(_ calls: [TurnToolCall], usage: CLIUsage) -> [TurnEvent] {
        isFinished = true
        finishedBeforeResult = true
        let complete = calls.map { call in
            var call = call
            if call.arguments.isEmpty { call.arguments = "{}" }
            return call
        }
        return [.finished(TurnCompletion(stopReason: .toolUse, usage: usage, toolCalls: complete, messageID: lastMessageID))]
    }

    /// New text, through the stop sequences.
    private mutating func show(_ added: String) -> [TurnEvent] {
        let shown = added.isEmpty ? "" : stopMatcher.feed(added)
        return shown.isEmpty ? [] : [.text(shown)]
    }
}
