import Testing
@testable import ClaudeCodeAPI

@Suite("sd_notify written directly: one datagram to $NOTIFY_SOCKET")
struct ServiceNotifierTests {
    @Test("a message reaches the socket at the NOTIFY_SOCKET path as NAME=value lines, in order")
    func pathSocket() throws {
        let manager = try NotifySocket()
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": manager.address])
        #expect(notifier.isEnabled)
        #expect(notifier.send(["READY": "1", "STATUS": "serving"]))
        #expect(manager.receive(within: 5) == "READY=1\nSTATUS=serving")
    }

    @Test("a NOTIFY_SOCKET starting with @ names a socket in the abstract namespace")
    func abstractSocket() throws {
        let manager = try NotifySocket(abstract: true)
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": manager.address])
        #expect(notifier.send(["STOPPING": "1"]))
        #expect(manager.receive(within: 5) == "STOPPING=1")
    }

    @Test("a line break in a value cannot start a field of its own")
    func lineBreaks() throws {
        let manager = try NotifySocket()
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": manager.address])
        notifier.send(["STATUS": "busy\nREADY=1\r\nWATCHDOG=trigger"])
        #expect(manager.receive(within: 5) == "STATUS=busy READY=1 WATCHDOG=trigger")
    }

    @Test("without NOTIFY_SOCKET nothing is sent, and the notifier says so")
    func noServiceManager() {
        for environment in [[:], ["NOTIFY_SOCKET": ""]] {
            let notifier = ServiceNotifier(environment: environment)
            #expect(!notifier.isEnabled)
            #expect(!notifier.send(["READY": "1"]))
        }
    }

    @Test("a service manager that is gone makes a send report failure instead of stopping the caller")
    func managerGone() throws {
        var manager: NotifySocket? = try NotifySocket()
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": manager!.address])
        manager = nil
        #expect(!notifier.send(["WATCHDOG": "1"]))
    }
}
