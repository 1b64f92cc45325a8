import FoundationEssentials
import HTTPCore
import SystemCalls

/// One CLI process in stream-json mode, from spawn to reap. Its stdin stays open for as long as the session wants:
/// user lines, `control_request`s and `control_response`s can be written at any time, interleaved with reading its
/// typed events (the CLI's own `control_request`s among them), and a caller can wait for the answer to one of its
/// requests. A one-shot turn is the simplest use: one user line, close stdin, read to the result, tear down.
/// Function calling (an in-process MCP server answering `mcp_message` requests) and a warm pool (configuring a
/// pre-started CLI, then rewinding it) are the others.
public final class CLISession {
    public let poller: ProcessPoller
    private let decoder = CLIEventDecoder()
    /// Writes stdin lines as the CLI reads them: keys as given (no snake_case conversion).
    private let lineEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
    private var nextRequestNumber = 0
    private var exit: ProcessExit?
    /// stdout lines read, and those that were not JSON (skipped).
    public private(set) var linesRead = 0
    public private(set) var unparseableLines = 0

    public init(process: any ChildProcess, clock: any MonotonicClock) {
        poller = ProcessPoller(process: process, clock: clock)
    }

    /// Starts the CLI described by `spec`.
    public static func launch(_ spec: ProcessSpec, launcher: any ProcessLauncher, clock: any MonotonicClock) throws(SystemError) -> CLISession {
        CLISession(process: try launcher.launch(spec), clock: clock)
    }

    public var process: any ChildProcess { poller.process }

    // MARK: Writing

    /// Queues one stream-json line (a JSON object and its newline) for stdin.
    public func send(line: [UInt8]) {
        poller.enqueueInput(line)
    }

    /// Queues `{"type":"control_request","request_id":ID,"request":REQUEST}` and returns the id it was given.
    @discardableResult
    public func sendControlRequest(_ request: JSONValue) -> String {
        nextRequestNumber += 1
        let id = "cca-\(nextRequestNumber)"
        send(object: ["type": .string("control_request"), "request_id": .string(id), "request": request])
        return id
    }

    /// Answers one of the CLI's control requests.
    public func sendControlResponse(to requestID: String, _ response: JSONValue) {
        send(object: ["type": .string("control_response"), "response": .object([
            "subtype": .string("success"), "request_id": .string(requestID), "response": response,
        ])])
    }

    /// Refuses one of the CLI's control requests.
    public func sendControlError(to requestID: String, message: String) {
        send(object: ["type": .string("control_response"), "response": .object([
            "subtype": .string("error"), "request_id": .string(requestID), "error": .string(message),
        ])])
    }

    /// Closes stdin once everything queued is written: the CLI ends after its current turn.
    public func closeInput() {
        poller.closeInput()
    }

    private func send(object: [String: JSONValue]) {
        send(object: .object(object))
    }

    /// Queues one JSON value as a stdin line.
    public func send(object: JSONValue) {
        guard let data = try? lineEncoder.encode(object) else { return }  // strings and objects only
        send(line: Array(data) + [UInt8(ascii: "\n")])
    }

    // MARK: Reading

    public typealias Verdict = ProcessPoller.LineVerdict

    /// Reads events until `onEvent` says `done`, or the run ends otherwise (see `ProcessPoller.Ending`).
    /// Lines that are not JSON are counted and skipped. `onEventsRead` follows the events of one read of stdout
    /// (`ProcessPoller.run`'s `onLinesRead`).
    public func run(limits: ProcessPoller.Limits, watch: ProcessPoller.Watch = .init(),
                    onEvent: (CLIEvent) throws(ClientDisconnected) -> Verdict,
                    onEventsRead: () throws(ClientDisconnected) -> Void = {},
                    onIdle: () throws(ClientDisconnected) -> Void = {}) -> ProcessPoller.Ending {
        poller.run(limits: limits, watch: watch, onLine: { line throws(ClientDisconnected) in
            linesRead += 1
            guard let event = try? decoder.decode(line: line) else {
                unparseableLines += 1
                return .more
            }
            return try onEvent(event)
        }, onLinesRead: onEventsRead, onIdle: onIdle)
    }

    /// Sends a control request and reads until its answer; events before it go to `onEvent`.
    public func request(_ request: JSONValue, limits: ProcessPoller.Limits, watch: ProcessPoller.Watch = .init(),
                        onEvent: (CLIEvent) throws(ClientDisconnected) -> Void = { _ in }) -> Result<CLIControlResponse, ControlRequestFailure> {
        requests([request], limits: limits, watch: watch, onEvent: onEvent).map { $0[0] }
    }

    /// Sends control requests in one go (they apply in order) and reads until every answer has come; returns them in
    /// the requests' order. Events before the last answer go to `onEvent`; `onIdle` as in `run`.
    public func requests(_ requests: [JSONValue], limits: ProcessPoller.Limits, watch: ProcessPoller.Watch = .init(),
                         onEvent: (CLIEvent) throws(ClientDisconnected) -> Void = { _ in },
                         onIdle: () throws(ClientDisconnected) -> Void = {}) -> Result<[CLIControlResponse], ControlRequestFailure> {
        let ids = requests.map { sendControlRequest($0) }
        var answers: [String: CLIControlResponse] = [:]
        guard !ids.isEmpty else { return .success([]) }
        let ending = run(limits: limits, watch: watch, onEvent: { event throws(ClientDisconnected) in
            if case .controlResponse(let response) = event, ids.contains(response.requestID) {
                answers[response.requestID] = response
                return answers.count == ids.count ? .done : .more
            }
            try onEvent(event)
            return .more
        }, onIdle: onIdle)
        guard answers.count == ids.count else { return .failure(ControlRequestFailure(ending: ending)) }
        return .success(ids.compactMap { answers[$0] })
    }

    /// How a `rewind_conversation` went.
    public enum RewindOutcome: Equatable {
        /// The conversation is back to before the line (`rewound: true`).
        case rewound
        /// Answered, but not rewound (a target that is gone or stale answers success with `rewound: false`).
        case refused(reason: String)
        case noAnswer(ProcessPoller.Ending)
    }

    /// Drops the conversation back to before the user line whose `uuid` is `userLineID`. Only `rewound: true` in the
    /// answer means it happened.
    public func rewind(to userLineID: String, limits: ProcessPoller.Limits, watch: ProcessPoller.Watch = .init()) -> RewindOutcome {
        let request = JSONValue.object(["subtype": .string("rewind_conversation"), "target_message_uuid": .string(userLineID)])
        switch self.request(request, limits: limits, watch: watch) {
        case .success(let answer) where answer.isSuccess && answer.response?["rewound"] == .bool(true):
            return .rewound
        case .success(let answer):
            return .refused(reason: answer.error ?? answer.response?["reason"]?.stringValue ?? "")
        case .failure(let failure):
            return .noAnswer(failure.ending)
        }
    }

    /// The run ended before the answer came.
    public struct ControlRequestFailure: Error, Equatable {
        public var ending: ProcessPoller.Ending
    }

    /// The last bytes of the CLI's stderr: for the log, never for clients.
    public var stderrText: String { poller.stderrText }

    // MARK: Ending

    /// Ends the process as `teardown` says and reaps it. Later calls return the first result.
    @discardableResult
    public func end(_ teardown: TeardownSequence) -> ProcessExit {
        if let exit { return exit }
        let ended = teardown.run(on: poller.process)
        exit = ended
        return ended
    }
}
