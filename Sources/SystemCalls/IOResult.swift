/// The result of an I/O call on a non-blocking descriptor: what it did, or that it would have had to wait.
public enum IOResult<Value: Sendable>: Sendable {
    case processed(Value)
    case wouldBlock
}

extension IOResult: Equatable where Value: Equatable {}
