import CFastCGI
import FoundationEssentials
import SystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// Every libfcgi call the service makes, wrapped once. Nothing else in the project imports CFastCGI.
enum LibFCGI {
    /// `FCGX_Init`: once, before any thread starts. It installs libfcgi's own SIGPIPE/SIGUSR1/SIGTERM handlers,
    /// which the caller then takes back (the executable's `SignalWaiter`, after this and before any thread starts).
    ///
    /// It is also where libfcgi reads `FCGI_WEB_SERVER_ADDRS`, the addresses every accepted IPv4 connection is
    /// checked against (fcgiapp.c copies `getenv` once; os_unix.c `ClientAddrOK` compares each `inet_addr`): the
    /// variable is set here from `allowedPeers`, or removed when there are none, so that nothing else in the
    /// environment decides who may connect. libfcgi keeps the first list for the life of the process: a later call
    /// with another list fails instead of being silently ignored.
    static func initialize(allowedPeers: [String]) throws(FastCGIError) {
        initialization.lock()
        defer { initialization.unlock() }
        if let first = initializedWith {
            guard first == allowedPeers else {
                throw FastCGIError(.initializationFailed, "libfcgi was initialized with another list of allowed peers (\(first.joined(separator: ","))); it reads the list once per process")
            }
            return
        }
        if allowedPeers.isEmpty {
            unsetenv(webServerAddressesVariable)
        } else {
            setenv(webServerAddressesVariable, allowedPeers.joined(separator: ","), 1)
        }
        guard FCGX_Init() == 0 else { throw FastCGIError(.initializationFailed, "FCGX_Init failed") }
        initializedWith = allowedPeers
    }

    static let webServerAddressesVariable = "FCGI_WEB_SERVER_ADDRS"
    private static let initialization = ConditionLock()
    nonisolated(unsafe) private static var initializedWith: [String]?

    /// One heap-allocated request per worker: libfcgi's streams point back into it, so it never moves.
    static func makeRequest(listeningOn fd: Int32) throws(FastCGIError) -> UnsafeMutablePointer<FCGX_Request> {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        guard FCGX_InitRequest(request, fd, 0) == 0 else {
            request.deallocate()
            throw FastCGIError(.initializationFailed, "FCGX_InitRequest failed")
        }
        return request
    }

    static func freeRequest(_ request: UnsafeMutablePointer<FCGX_Request>) {
        FCGX_Free(request, 1)
        request.deallocate()
    }

    /// `FCGX_Accept_r`: finishes the previous request, then accepts the next connection.
    /// Returns 0 on success or -errno (EAGAIN when another worker took the connection).
    /// Kept connections are refused: a worker serves one request per connection and then waits on the listening
    /// socket only, so a peer asking for FCGI_KEEP_CONN could otherwise park an idle connection on every worker.
    static func accept(_ request: UnsafeMutablePointer<FCGX_Request>) -> Int32 {
        let rc = FCGX_Accept_r(request)
        if rc >= 0 { request.pointee.keepConnection = 0 }
        return rc
    }

    static func finish(_ request: UnsafeMutablePointer<FCGX_Request>) {
        FCGX_Finish_r(request)
    }

    /// The request's parameters (CGI environment), copied: libfcgi frees its strings at Finish.
    static func parameters(of request: UnsafeMutablePointer<FCGX_Request>) -> [String: String] {
        var result: [String: String] = [:]
        guard var entry = request.pointee.envp else { return result }
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    static func connectionDescriptor(of request: UnsafeMutablePointer<FCGX_Request>) -> Int32 {
        request.pointee.ipcFd
    }

    /// Reads body bytes; 0 at the end of the body.
    static func read(_ request: UnsafeMutablePointer<FCGX_Request>, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let stream = request.pointee.in, let base = buffer.baseAddress else { return 0 }
        let n = FCGX_GetStr(base.assumingMemoryBound(to: CChar.self), Int32(clamping: buffer.count), stream)
        return max(0, Int(n))
    }

    /// Buffers stdout bytes. False when the stream has failed.
    static func write(_ request: UnsafeMutablePointer<FCGX_Request>, _ bytes: [UInt8]) -> Bool {
        guard let stream = request.pointee.out else { return false }
        guard !bytes.isEmpty else { return true }
        let written = bytes.withUnsafeBytes { raw in
            FCGX_PutStr(raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count), stream)
        }
        return written == Int32(bytes.count) && FCGX_GetError(stream) == 0
    }

    /// Sends buffered stdout. `FCGX_PutStr` keeps succeeding after the peer is gone; only this tells the truth.
    static func flush(_ request: UnsafeMutablePointer<FCGX_Request>) -> Bool {
        guard let stream = request.pointee.out else { return false }
        return FCGX_FFlush(stream) == 0 && FCGX_GetError(stream) == 0
    }
}
