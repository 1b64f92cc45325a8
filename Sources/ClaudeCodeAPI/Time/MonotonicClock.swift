import SystemCalls

/// Monotonic time in nanoseconds. A seam so tests can control deadlines.
public protocol MonotonicClock: Sendable {
    func now() -> UInt64
}

public struct SystemClock: MonotonicClock {
    public init() {}
    public func now() -> UInt64 { Syscalls.monotonicNanoseconds() }
}

extension UInt64 {
    static func seconds(_ s: Int) -> UInt64 { UInt64(s) * 1_000_000_000 }
}
