import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Drives one CLI process: writes its stdin, reads its stdout line by line and its stderr, and watches the client
/// connection and the deadlines, all with one `poll()` loop on the calling thread.
public struct CLITurnRunner {
    public struct Limits: Sendable {
        public var requestDeadline: UInt64
        public var stallNanoseconds: UInt64
        public var idleNanoseconds: UInt64

        public init(requestDeadline: UInt64, stallNanoseconds: UInt64, idleNanoseconds: UInt64) {
            self.requestDeadline = requestDeadline
            self.stallNanoseconds = stallNanoseconds
            self.idleNanoseconds = idleNanoseconds
        }
    }

    /// Why the loop stopped.
    public enum Ending: Equatable, Sendable {
        /// The consumer has what it needs (the result line).
        case consumerFinished
        /// stdout closed: the CLI ended (or closed its output) before the consumer finished.
        case outputEnded(stderrTail: String)
        case clientDisconnected
        case requestTimedOut
        case stalled
        /// The service is stopping and its drain deadline has passed.
        case cancelled
        case failed(SystemError)
    }

    public enum LineVerdict { case more, done }

    private let process: any ChildProcess
    private let clientDescriptor: Int32?
    private let cancellation: CancellationSignal?
    private let clock: any MonotonicClock
    private var standardInput: [UInt8]
    private var stdinOffset = 0
    private var stdout = LineSplitter()
    private var stderrTail = StderrTail()

    public init(process: any ChildProcess, standardInput: [UInt8], clientDescriptor: Int32?,
                cancellation: CancellationSignal? = nil, clock: any MonotonicClock) {
        self.process = process
        self.standardInput = standardInput
        self.clientDescriptor = clientDescriptor
        self.cancellation = cancellation
        self.clock = clock
    }

    /// Runs until the consumer is done, the output ends, the client leaves or a deadline passes.
    /// `onLine` gets each stdout line; `onIdle` is called when no line came for `idleNanoseconds`.
    public mutating func run(limits: Limits,
                             onLine: (ArraySlice<UInt8>) throws(ClientDisconnected) -> LineVerdict,
                             onIdle: () throws(ClientDisconnected) -> Void) -> Ending {
        var lastOutput = clock.now()
        var lastIdleCall = lastOutput
        var stdoutOpen = true
        var stderrOpen = true
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        if standardInput.isEmpty { process.closeStandardInput() }

        while true {
            let now = clock.now()
            if now >= limits.requestDeadline { return .requestTimedOut }
            if now >= lastOutput + limits.stallNanoseconds { return .stalled }
            if now >= max(lastOutput, lastIdleCall) + limits.idleNanoseconds {
                lastIdleCall = now
                do { try onIdle() } catch { return .clientDisconnected }
            }
            let wakeAt = min(limits.requestDeadline, lastOutput + limits.stallNanoseconds,
                             max(lastOutput, lastIdleCall) + limits.idleNanoseconds)
            let timeout = Int32(clamping: (wakeAt > now ? wakeAt - now : 0) / 1_000_000 + 1)

            var fds: [pollfd] = []
            let stdinIndex = process.standardInput >= 0 ? fds.count : -1
            if stdinIndex >= 0 { fds.append(pollfd(fd: process.standardInput, events: Int16(POLLOUT), revents: 0)) }
            let stdoutIndex = stdoutOpen ? fds.count : -1
            if stdoutOpen { fds.append(pollfd(fd: process.standardOutput, events: Int16(POLLIN), revents: 0)) }
            let stderrIndex = stderrOpen ? fds.count : -1
            if stderrOpen { fds.append(pollfd(fd: process.standardError, events: Int16(POLLIN), revents: 0)) }
            let clientIndex = clientDescriptor != nil ? fds.count : -1
            if let clientDescriptor { fds.append(pollfd(fd: clientDescriptor, events: Syscalls.pollPeerHangUp, revents: 0)) }
            let cancelIndex = cancellation != nil ? fds.count : -1
            if let cancellation { fds.append(pollfd(fd: cancellation.descriptor, events: Int16(POLLIN), revents: 0)) }

            do { try Syscalls.poll(&fds, timeoutMilliseconds: timeout) } catch { return .failed(error as! SystemError) }

            if clientIndex >= 0, fds[clientIndex].revents & (Syscalls.pollPeerHangUp | Int16(POLLHUP | POLLERR | POLLNVAL)) != 0 {
                return .clientDisconnected
            }
            if cancelIndex >= 0, fds[cancelIndex].revents != 0 { return .cancelled }
            if stdinIndex >= 0, fds[stdinIndex].revents != 0 { writeStandardInput() }
            if stderrIndex >= 0, fds[stderrIndex].revents != 0 {
                stderrOpen = drain(process.standardError, buffer: &buffer) { stderrTail.append($0) }
            }
            if stdoutIndex >= 0, fds[stdoutIndex].revents != 0 {
                lastOutput = clock.now()
                var verdict = LineVerdict.more
                var disconnected = false
                stdoutOpen = drain(process.standardOutput, buffer: &buffer) { bytes in
                    guard verdict == .more, !disconnected else { return }
                    do {
                        try stdout.append(bytes) { line throws(ClientDisconnected) in
                            if verdict == .more { verdict = try onLine(line) }
                        }
                    } catch {
                        disconnected = true
                    }
                }
                if disconnected { return .clientDisconnected }
                if verdict == .done { return .consumerFinished }
                if !stdoutOpen {
                    if let last = stdout.finish() {
                        do { if try onLine(last) == .done { return .consumerFinished } } catch { return .clientDisconnected }
                    }
                    // Let stderr say why, if the CLI wrote anything there on its way out.
                    if stderrOpen { _ = drain(process.standardError, buffer: &buffer) { stderrTail.append($0) } }
                    return .outputEnded(stderrTail: stderrTail.text)
                }
            }
        }
    }

    /// The last bytes the CLI wrote to stderr, for error messages.
    public var stderrText: String { stderrTail.text }

    private mutating func writeStandardInput() {
        guard stdinOffset < standardInput.count else { process.closeStandardInput(); return }
        do {
            let written = try standardInput.withUnsafeBytes { raw in
                try Syscalls.write(process.standardInput, UnsafeRawBufferPointer(rebasing: raw[stdinOffset...]))
            }
            stdinOffset += written
        } catch {
            stdinOffset = standardInput.count  // the CLI closed its stdin (it ended); stdout will say how
        }
        if stdinOffset >= standardInput.count {
            process.closeStandardInput()
            standardInput = []
        }
    }

    /// Reads what is available (at most 1 MiB per call, to stay responsive). Returns false at end of file.
    private func drain(_ fd: Int32, buffer: inout [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var total = 0
        while total < (1 << 20) {
            let result = buffer.withUnsafeMutableBytes { raw -> (Int?, Bool) in
                do {
                    guard let n = try Syscalls.read(fd, into: raw) else { return (nil, true) }
                    if n > 0 { body(UnsafeRawBufferPointer(rebasing: raw[..<n])) }
                    return (n, true)
                } catch {
                    return (0, false)
                }
            }
            guard let n = result.0 else { return true }  // would block
            if n == 0 { return false }  // end of file (or error)
            total += n
        }
        return true
    }
}

/// Keeps the last few KiB of stderr.
struct StderrTail {
    private var bytes: [UInt8] = []
    private let limit = 2048

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes += chunk.suffix(limit)
        if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
    }

    var text: String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
