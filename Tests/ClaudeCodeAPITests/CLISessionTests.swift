import Foundation
import Testing
import SystemCalls
@testable import ClaudeCodeAPI

/// The session's control protocol against a real process with its stdin kept open: a shell script standing in for
/// the CLI's side (it reads our lines and answers), so that the pipes, the interleaving and the teardown are real.
@Suite("A CLI session: stdin kept open, control requests both ways")
struct CLISessionTests {
    let clock = SystemClock()
    var limits: ProcessPoller.Limits {
        .init(deadline: clock.now() + .seconds(10), stallNanoseconds: .seconds(10), idleNanoseconds: .seconds(10))
    }

    func session(_ script: String) throws -> CLISession {
        try CLISession.launch(ProcessSpec(executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": "/bin:/usr/bin"]),
                              launcher: PosixProcessLauncher(), clock: clock)
    }

    @Test("a control request waits for its own answer; events before it are delivered")
    func requestAndAnswer() throws {
        // Prints an unrelated event, then answers the first line it reads with a control_response for cca-1.
        let session = try session("""
            echo '{"type":"system","subtype":"status"}'
            read line
            case "$line" in *'"request_id":"cca-1"'*'"subtype":"interrupt"'*|*'"subtype":"interrupt"'*'"request_id":"cca-1"'*)
              echo '{"type":"control_response","response":{"subtype":"success","request_id":"cca-1","response":{"rewound":true}}}';;
            esac
            read rest
            exit 0
            """)
        var before: [CLIEvent] = []
        let answer = session.request(.object(["subtype": .string("interrupt")]), limits: limits) { before.append($0) }
        #expect(before == [.other(type: "system/status")])
        let response = try answer.get()
        #expect(response.isSuccess && response.requestID == "cca-1")
        #expect(response.response == .object(["rewound": .bool(true)]))
        session.closeInput()
        #expect(session.end(.exitByItself(waitingMilliseconds: 5_000, graceMilliseconds: 100)) == .exited(code: 0))
    }

    @Test("the CLI's own control request is decoded and answered on its stdin, while the session goes on")
    func answerTheCLI() throws {
        // Asks a question, echoes the answer it read to stderr, then prints a result.
        let session = try session("""
            echo '{"type":"control_request","request_id":"q7","request":{"subtype":"mcp_message","server_name":"client"}}'
            read answer
            echo "$answer" >&2
            echo '{"type":"result","subtype":"success","is_error":false,"result":"ok"}'
            """)
        var requests: [CLIControlRequest] = []
        let ending = session.run(limits: limits) { event in
            switch event {
            case .controlRequest(let request):
                requests.append(request)
                session.sendControlResponse(to: request.requestID, .object(["mcp_response": .object(["id": .number(1)])]))
                return .more
            case .result: return .done
            default: return .more
            }
        }
        #expect(ending == .consumerFinished)
        #expect(requests.map(\.subtype) == ["mcp_message"])
        #expect(requests.first?.request["server_name"] == .string("client"))
        session.closeInput()
        session.end(.exitByItself(waitingMilliseconds: 5_000, graceMilliseconds: 100))
        let echoed = try JSONSerialization.jsonObject(with: Data(session.stderrText.utf8)) as? [String: Any]
        #expect(echoed?["type"] as? String == "control_response")
        let response = echoed?["response"] as? [String: Any]
        #expect(response?["subtype"] as? String == "success" && response?["request_id"] as? String == "q7")
    }

    @Test("lines read after a consumer finished are kept for the next run")
    func linesSurviveBetweenRuns() throws {
        let session = try session(#"printf '{"type":"system","subtype":"a"}\n{"type":"system","subtype":"b"}\n'; read x"#)
        var first: [CLIEvent] = []
        #expect(session.run(limits: limits) { first.append($0); return .done } == .consumerFinished)
        var second: [CLIEvent] = []
        #expect(session.run(limits: limits) { second.append($0); return .done } == .consumerFinished)
        #expect(first == [.other(type: "system/a")] && second == [.other(type: "system/b")])
        session.end(.terminate(graceMilliseconds: 100))
    }

    @Test("a session that ends without an answer reports how the run ended")
    func noAnswer() throws {
        let session = try session("read line; exit 0")
        let answer = session.request(.object(["subtype": .string("interrupt")]), limits: limits)
        #expect(answer == .failure(CLISession.ControlRequestFailure(ending: .outputEnded)))
        #expect(session.end(.exitByItself(waitingMilliseconds: 5_000, graceMilliseconds: 100)) == .exited(code: 0))
    }
}
