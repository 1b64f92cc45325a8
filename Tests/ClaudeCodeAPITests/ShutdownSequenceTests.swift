import Testing
@testable import ClaudeCodeAPI

@Suite("The shutdown sequence, driven without signals")
struct ShutdownSequenceTests {
    /// Records the steps taken and answers each wait from a script.
    final class Recorder: @unchecked Sendable {
        var steps: [String] = []
        var waitAnswers: [Bool]
        init(waitAnswers: [Bool]) { self.waitAnswers = waitAnswers }

        func sequence(drain: Double = 30) -> ShutdownSequence {
            ShutdownSequence(
                timeouts: .init(drainSeconds: drain),
                steps: .init(
                    stopAdmitting: { self.steps.append("stopAdmitting") },
                    stopAccepting: { self.steps.append("stopAccepting") },
                    waitForRequests: { seconds in self.steps.append("wait \(Int(seconds))"); return self.waitAnswers.removeFirst() },
                    cancelTurns: { self.steps.append("cancelTurns") },
                    killProcesses: { self.steps.append("killProcesses") }),
                logger: Logger(level: .error, sink: { _ in }))
        }
    }

    @Test("requests that finish within the drain timeout are left alone")
    func drained() {
        let recorder = Recorder(waitAnswers: [true])
        #expect(recorder.sequence().run() == .drained)
        #expect(recorder.steps == ["stopAdmitting", "stopAccepting", "wait 30"])
    }

    @Test("past the drain timeout the turns are cancelled, with a named wait after")
    func cancelled() {
        let recorder = Recorder(waitAnswers: [false, true])
        #expect(recorder.sequence(drain: 7).run() == .cancelledTurns)
        #expect(recorder.steps == ["stopAdmitting", "stopAccepting", "wait 7", "cancelTurns", "wait 5"])
    }

    @Test("the service manager hears of the stop before anything else is done")
    func announcedFirst() {
        let recorder = Recorder(waitAnswers: [true])
        let sequence = ShutdownSequence(
            timeouts: .init(drainSeconds: 30),
            steps: .init(
                announceStopping: { recorder.steps.append("announceStopping") },
                stopAdmitting: { recorder.steps.append("stopAdmitting") },
                stopAccepting: { recorder.steps.append("stopAccepting") },
                waitForRequests: { _ in recorder.waitAnswers.removeFirst() },
                cancelTurns: { recorder.steps.append("cancelTurns") },
                killProcesses: { recorder.steps.append("killProcesses") }),
            logger: Logger(level: .error, sink: { _ in }))
        #expect(sequence.run() == .drained)
        #expect(recorder.steps == ["announceStopping", "stopAdmitting", "stopAccepting"])
    }

    @Test("as a last resort every CLI is killed")
    func killed() {
        let recorder = Recorder(waitAnswers: [false, false, false])
        #expect(recorder.sequence().run() == .killedProcesses(finished: false))
        #expect(recorder.steps == ["stopAdmitting", "stopAccepting", "wait 30", "cancelTurns", "wait 5", "killProcesses", "wait 2"])
    }
}
