import Foundation
import Testing
import SystemCalls
@testable import FastCGI

/// The parts of sd_listen_fds(3) that do not need descriptor 3 to be a socket (the integration tests start the
/// responder with systemd-socket-activate for that).
@Suite("A socket passed by systemd (LISTEN_FDS, LISTEN_PID)")
struct SocketActivationTests {
    @Test("without LISTEN_FDS no socket was passed")
    func nothingPassed() throws {
        #expect(try ListeningSocket.activated(environment: [:]) == nil)
        #expect(try ListeningSocket.activated(environment: ["LISTEN_PID": "\(Syscalls.processID())"]) == nil)
    }

    @Test("sockets passed to another process (LISTEN_PID) are not taken")
    func anotherProcess() throws {
        let other = Syscalls.processID() + 1
        #expect(try ListeningSocket.activated(environment: ["LISTEN_FDS": "1", "LISTEN_PID": "\(other)"]) == nil)
        #expect(try ListeningSocket.activated(environment: ["LISTEN_FDS": "1", "LISTEN_PID": "x"]) == nil)
    }

    @Test("more than one socket is refused with a message that names the unit's fix")
    func severalSockets() {
        let error = #expect(throws: FastCGIError.self) {
            try ListeningSocket.activated(environment: ["LISTEN_FDS": "2", "LISTEN_PID": "\(Syscalls.processID())"])
        }
        #expect(error?.message.contains("LISTEN_FDS=2") == true)
        #expect(error?.message.contains("ListenStream=") == true)
    }
}
