import CFastCGI
import FoundationEssentials
import HTTPCore
import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// A fixed pool of worker threads, each accepting FastCGI requests on one listening socket and handing them to an
/// `HTTPHandler`. No async runtime: each request is served start to end on its thread.
public final class FastCGIServer: @unchecked Sendable {

    private let listener: ListeningSocket
    private let workerCount: Int
    private let writeTimeoutMilliseconds: Int
    private let handler: any HTTPHandler
    private let onWorkerError: @Sendable (String) -> Void
    private let wake: (read: Int32, write: Int32)
    private let watchdog: ReadWatchdog
    private let lock = ConditionLock()
    private var running = 0
    private var inFlight = 0
    private var drainBacklog = false

    /// Initializes libfcgi (before any thread exists) and takes over the listening socket.
    /// `allowedPeers`: the web servers that may connect to a TCP socket (checked against the socket's address first:
    /// every interface needs a list, IPv6 is refused).
    /// `readTimeoutMilliseconds`: how long a worker may spend receiving one request (records up to the end of the
    /// body) before the read is interrupted and the connection dropped.
    /// `writeTimeoutMilliseconds`: how long one blocking write to a connection may take before the client counts as gone.
    public init(listener: ListeningSocket, allowedPeers: AllowedPeers = .anyone, workers: Int, readTimeoutMilliseconds: Int,
                writeTimeoutMilliseconds: Int = 30_000, onWorkerError: @escaping @Sendable (String) -> Void,
                handler: any HTTPHandler) throws {
        try allowedPeers.check(serving: listener.address)
        try LibFCGI.initialize(allowedPeers: allowedPeers.addresses)
        watchdog = ReadWatchdog(workers: workers, timeoutMilliseconds: readTimeoutMilliseconds) { index in
            onWorkerError("worker \(index): a peer sent an incomplete request for too long; dropping its connection")
        }
        self.listener = listener
        self.workerCount = workers
        self.writeTimeoutMilliseconds = writeTimeoutMilliseconds
        self.handler = handler
        self.onWorkerError = onWorkerError
        wake = try Syscalls.pipe()
        // Workers wait in poll() and only then call FCGX_Accept_r, so a stop can wake them; a non-blocking
        // listening socket turns the lost race for a connection into EAGAIN instead of a blocked accept().
        try Syscalls.setNonBlocking(listener.descriptor)
    }

    public func start() {
        lock.lock(); running = workerCount; lock.unlock()
        watchdog.start()
        for index in 0..<workerCount {
            SystemThread.start(name: "fcgi-worker-\(index)", stackBytes: 1 << 20) { [self] in self.workerLoop(index: index) }
        }
    }

    /// Requests being answered right now.
    public var requestsInFlight: Int {
        lock.lock(); defer { lock.unlock() }
        return inFlight
    }

    /// Worker threads still serving: all of them from `start()` until a stop, unless one failed (and logged why).
    public var runningWorkers: Int {
        lock.lock(); defer { lock.unlock() }
        return running
    }

    /// Stops accepting: idle workers exit at once, busy ones after their request. With `drainBacklog`, connections
    /// already waiting in the listening socket's backlog are served first (for a socket whose file has been removed,
    /// so that nothing new can arrive); without it they are left to whoever listens next (systemd's socket).
    public func stopAccepting(drainBacklog: Bool) {
        lock.lock(); self.drainBacklog = drainBacklog; lock.unlock()
        _ = try? Syscalls.writeAll(wake.write, [1])
    }

    /// Waits until every worker has exited, or until the deadline. True when all are gone.
    public func waitForWorkers(timeoutSeconds: Double) -> Bool {
        let deadline = Syscalls.monotonicNanoseconds() &+ UInt64(max(0, timeoutSeconds) * 1e9)
        lock.lock(); defer { lock.unlock() }
        while running > 0 {
            if !lock.wait(untilMonotonicNanoseconds: deadline) { return running == 0 }
        }
        watchdog.stop()
        return true
    }

    private func workerLoop(index: Int) {
        watchdog.register(worker: index)
        defer {
            lock.lock(); running -= 1; lock.broadcast(); lock.unlock()
        }
        let request: UnsafeMutablePointer<FCGX_Request>
        do { request = try LibFCGI.makeRequest(listeningOn: listener.descriptor) } catch {
            onWorkerError("\(error)")
            return
        }
        defer { LibFCGI.freeRequest(request) }

        while true {
            var fds = [pollfd(fd: listener.descriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            do { try Syscalls.poll(&fds, timeoutMilliseconds: -1) } catch {
                onWorkerError("\(error)")
                return
            }
            if fds[1].revents != 0 {
                lock.lock(); let serveBacklog = drainBacklog; lock.unlock()
                guard serveBacklog, fds[0].revents != 0 else { return }
            }
            guard fds[0].revents != 0 else { continue }
            watchdog.startedReading(worker: index)
            let rc = LibFCGI.accept(request)
            if rc < 0 {
                watchdog.stoppedReading(worker: index)
                if -rc != EAGAIN && -rc != EWOULDBLOCK && -rc != EINTR {
                    onWorkerError("FCGX_Accept_r failed: \(rc)")
                    Syscalls.sleep(milliseconds: 10)
                }
                continue
            }
            lock.lock(); inFlight += 1; lock.unlock()
            let exchange = FastCGIExchange(request: request, writeTimeoutMilliseconds: writeTimeoutMilliseconds) { [watchdog] in watchdog.stoppedReading(worker: index) }
            handler.handle(exchange.httpRequest(), body: exchange, writer: exchange)
            exchange.end()
            watchdog.stoppedReading(worker: index)
            lock.lock(); inFlight -= 1; lock.unlock()
        }
    }
}
