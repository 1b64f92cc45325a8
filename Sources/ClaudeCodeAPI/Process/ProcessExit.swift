/// How a child process ended, for logs and counters.
public enum ProcessExit: Equatable, Sendable, CustomStringConvertible {
    case exited(code: Int32)
    case signalled(Int32)
    /// The launch failed: there never was a process.
    case notStarted
    /// The process could not be waited for (it was not our child any more).
    case lost
    /// A pooled CLI served its turn, was reset and went back to the pool: it did not end.
    case keptWarm

    public init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        self = signal == 0 ? .exited(code: (waitStatus >> 8) & 0xff) : .signalled(signal)
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signalled(let signal): "signal \(signal)"
        case .notStarted: "not started"
        case .lost: "lost"
        case .keptWarm: "kept warm"
        }
    }
}
