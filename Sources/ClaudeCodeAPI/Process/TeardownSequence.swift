#if canImport(Glibc)
import Glibc
#endif
import SystemCalls

/// How a child process is ended, as explicit steps (swift-subprocess's `TeardownStep`): wait for it to exit, send a
/// signal and wait, ... Whatever is left of its process group after the last step is SIGKILLed, then the child is
/// reaped. Disconnects, deadlines, stop sequences and shutdown all end their CLI through one of these.
public struct TeardownSequence: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Give the child up to this long to exit by itself.
        case waitForExit(milliseconds: Int)
        /// Send a signal to its process group, then give it up to this long to exit.
        case signal(Int32, thenWaitMilliseconds: Int)
    }

    public var steps: [Step]

    public init(_ steps: [Step]) { self.steps = steps }

    /// The turn is over: the CLI is expected to exit by itself; if it does not, SIGTERM, grace, SIGKILL.
    public static func exitByItself(waitingMilliseconds: Int, graceMilliseconds: Int) -> TeardownSequence {
        TeardownSequence([.waitForExit(milliseconds: waitingMilliseconds), .signal(SIGTERM, thenWaitMilliseconds: graceMilliseconds)])
    }

    /// The CLI must stop now (client gone, deadline, shutdown): SIGTERM, grace, SIGKILL.
    public static func terminate(graceMilliseconds: Int) -> TeardownSequence {
        TeardownSequence([.signal(SIGTERM, thenWaitMilliseconds: graceMilliseconds)])
    }

    /// Straight to SIGKILL: the CLI must not get to send anything more upstream (a turn cut by the service).
    public static let kill = TeardownSequence([])

    /// Runs the steps on `process`, then kills what is left of its group and reaps it. Returns how it ended.
    @discardableResult
    public func run(on process: any ChildProcess, pollMilliseconds: Int = 2) -> ProcessExit {
        for step in steps {
            if process.hasExited() { break }
            switch step {
            case .waitForExit(let milliseconds):
                wait(for: process, milliseconds: milliseconds, poll: pollMilliseconds)
            case .signal(let signal, let milliseconds):
                process.signalGroup(signal)
                wait(for: process, milliseconds: milliseconds, poll: pollMilliseconds)
            }
        }
        // The leader is not reaped before this, so its pid (= the group id) cannot have been reused.
        process.signalGroup(SIGKILL)
        return process.reap()
    }

    private func wait(for process: any ChildProcess, milliseconds: Int, poll: Int) {
        var waited = 0
        while waited < milliseconds && !process.hasExited() {
            Syscalls.sleep(milliseconds: poll)
            waited += poll
        }
    }
}
