import Foundation
import Testing
import SystemCalls
@testable import FastCGI

@Suite("The worker count the watchdog checks")
struct WorkerHealthTests {
    @Test("every worker runs from start until the stop, then none")
    func runningWorkers() throws {
        let folder = try Syscalls.makeTemporaryDirectory(in: NSTemporaryDirectory(), prefix: "fcgi-test-")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let listener = try ListeningSocket.bind(path: "\(folder)/fcgi.sock", mode: 0o600)
        defer { Syscalls.close(listener.descriptor) }
        let server = try FastCGIServer(listener: listener, workers: 3, readTimeoutMilliseconds: 2_000,
                                       onWorkerError: { _ in }, handler: EchoHandler())
        #expect(server.runningWorkers == 0)
        server.start()
        #expect(server.runningWorkers == 3)
        listener.removeFile()
        server.stopAccepting(drainBacklog: false)
        #expect(server.waitForWorkers(timeoutSeconds: 5))
        #expect(server.runningWorkers == 0)
    }
}
