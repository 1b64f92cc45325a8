import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// Starts detached threads with a name and a stack size of their own (pthread's, as Foundation's `Thread` does
/// underneath). The service's threads run until the process ends or their loop returns; none is joined.
public enum SystemThread {
    /// Starts `body` on a new thread named `name` (the kernel keeps 15 bytes of it: `ps -L`, `top -H`, core dumps).
    /// `stackBytes`: at least 64 KiB; rounded up to whole pages. A thread the system cannot create is a fatal error:
    /// every caller starts its threads at start-up, where running without one would be a silent half-service.
    public static func start(name: String, stackBytes: Int = 512 << 10, _ body: @escaping @Sendable () -> Void) {
        let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        let stack = (max(stackBytes, 64 << 10) + page - 1) / page * page
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stack)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            _ = CSystemShims_set_current_thread_name(String(decoding: start.name.utf8.prefix(15), as: UTF8.self))
            start.body()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            fatalError("pthread_create for \(name): \(String(cString: strerror(result)))")
        }
    }

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) { self.name = name; self.body = body }
    }
}
