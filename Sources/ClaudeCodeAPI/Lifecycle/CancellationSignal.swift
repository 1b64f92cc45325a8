import SystemCalls

/// A one-way alarm that `poll()` can watch: once fired, its descriptor stays readable.
/// Used to end in-flight turns when the drain deadline of a shutdown passes.
public final class CancellationSignal: Sendable {
    private let pipe: (read: Int32, write: Int32)

    public init() throws(SystemError) {
        pipe = try Syscalls.pipe()
        try Syscalls.setNonBlocking(pipe.read)
    }

    deinit {
        Syscalls.close(pipe.read)
        Syscalls.close(pipe.write)
    }

    /// Readable once fired.
    public var descriptor: Int32 { pipe.read }

    public func fire() {
        try? Syscalls.writeAll(pipe.write, [1])
    }
}
