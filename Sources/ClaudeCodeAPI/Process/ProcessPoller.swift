#if canImport(Glibc)
import Glibc
#endif
import HTTPCore
import SystemCalls

/// The I/O of one child process, driven by one `poll()` loop on the calling thread: writes whatever has been queued
/// for its stdin (at any time, also from inside the callbacks), reads its stdout line by line and keeps the tail of its
/// stderr, while watching the client's connection, a cancellation signal and the deadlines.
/// A run ends when the consumer says so; lines read past that point wait for the next run.
public final class ProcessPoller {
    public struct Limits: Sendable {
        /// Absolute time (of the poller's clock) at which the run gives up.
        public var deadline: UInt64
        /// No stdout line for this long ends the run.
        public var stallNanoseconds: UInt64
        /// `onIdle` is called when no line came for this long.
        public var idleNanoseconds: UInt64

        public init(deadline: UInt64, stallNanoseconds: UInt64, idleNanoseconds: UInt64) {
            self.deadline = deadline
            self.stallNanoseconds = stallNanoseconds
            self.idleNanoseconds = idleNanoseconds
        }
    }

    /// What else a run watches besides the process.
    public struct Watch {
        /// Reports the client hanging up (POLLRDHUP).
        public var clientDescriptor: Int32?
        /// Fired when the service stops and its drain deadline has passed.
        public var cancellation: CancellationSignal?

        public init(clientDescriptor: Int32? = nil, cancellation: CancellationSignal? = nil) {
            self.clientDescriptor = clientDescriptor
            self.cancellation = cancellation
        }
    }

    /// Why a run stopped.
    public enum Ending: Equatable, Sendable {
        /// The consumer has what it needs.
        case consumerFinished
        /// stdout closed: the process ended (or closed its output) before the consumer finished.
        case outputEnded
        case clientDisconnected
        case deadlinePassed
        case stalled
        /// The service is stopping and its drain deadline has passed.
        case cancelled
        case failed(SystemError)
    }

    public enum LineVerdict { case more, done }

    public let process: any ChildProcess
    private let clock: any MonotonicClock
    private var pendingInput: [UInt8] = []
    private var inputOffset = 0
    private var closeInputWhenWritten = false
    private var stdout = LineSplitter()
    /// Complete lines read after a consumer said `done`, for the next run.
    private var undelivered: [[UInt8]] = []
    private var stdoutOpen = true
    private var stderrOpen = true
    private var stderrTail = StderrTail()
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    public init(process: any ChildProcess, clock: any MonotonicClock) {
        self.process = process
        self.clock = clock
    }

    /// Queues bytes for the process's stdin; they are written as the pipe takes them, during runs.
    public func enqueueInput(_ bytes: [UInt8]) {
        pendingInput += bytes
    }

    /// Closes stdin once everything queued has been written (at once when nothing is).
    public func closeInput() {
        closeInputWhenWritten = true
        if inputOffset >= pendingInput.count { process.closeStandardInput() }
    }

    /// The last bytes the process wrote to stderr (for the log, never for clients).
    public var stderrText: String { stderrTail.text }

    /// Lines longer than the splitter's limit that were dropped whole.
    public var droppedLines: Int { stdout.droppedLines }

    /// Runs until the consumer is done, the output ends, the client leaves, the service cancels or a limit passes.
    /// `onLine` gets each stdout line; `onLinesRead` is called once the lines of one read have all been handed over
    /// (the moment to push what they produced: the next line is not there yet), but not after a line that said
    /// `done`; `onIdle` is called when no line came for `idleNanoseconds`.
    public func run(limits: Limits, watch: Watch = Watch(),
                    onLine: (ArraySlice<UInt8>) throws(ClientDisconnected) -> LineVerdict,
                    onLinesRead: () throws(ClientDisconnected) -> Void = {},
                    onIdle: () throws(ClientDisconnected) -> Void) -> Ending {
        var lastOutput = clock.now()
        var lastIdleCall = lastOutput

        // What was queued goes out now, even when the lines kept from before end this run at once.
        if process.standardInput >= 0 && inputOffset < pendingInput.count { writeInput() }
        if !undelivered.isEmpty {
            while !undelivered.isEmpty {
                let line = undelivered.removeFirst()
                do { if try onLine(line[...]) == .done { return .consumerFinished } } catch { return .clientDisconnected }
            }
            do { try onLinesRead() } catch { return .clientDisconnected }
        }
        if !stdoutOpen { return .outputEnded }

        while true {
            let now = clock.now()
            if now >= limits.deadline { return .deadlinePassed }
            if now >= lastOutput + limits.stallNanoseconds { return .stalled }
            if now >= max(lastOutput, lastIdleCall) + limits.idleNanoseconds {
                lastIdleCall = now
                do { try onIdle() } catch { return .clientDisconnected }
            }
            let wakeAt = min(limits.deadline, lastOutput + limits.stallNanoseconds, max(lastOutput, lastIdleCall) + limits.idleNanoseconds)
            let timeout = Int32(clamping: (wakeAt > now ? wakeAt - now : 0) / 1_000_000 + 1)

            var fds: [pollfd] = []
            let wantsToWrite = process.standardInput >= 0 && inputOffset < pendingInput.count
            let stdinIndex = wantsToWrite ? fds.count : -1
            if wantsToWrite { fds.append(pollfd(fd: process.standardInput, events: Int16(POLLOUT), revents: 0)) }
            let stdoutIndex = fds.count
            fds.append(pollfd(fd: process.standardOutput, events: Int16(POLLIN), revents: 0))
            let stderrIndex = stderrOpen ? fds.count : -1
            if stderrOpen { fds.append(pollfd(fd: process.standardError, events: Int16(POLLIN), revents: 0)) }
            let clientIndex = watch.clientDescriptor != nil ? fds.count : -1
            if let client = watch.clientDescriptor { fds.append(pollfd(fd: client, events: Syscalls.pollPeerHangUp, revents: 0)) }
            let cancelIndex = watch.cancellation != nil ? fds.count : -1
            if let cancellation = watch.cancellation { fds.append(pollfd(fd: cancellation.descriptor, events: Int16(POLLIN), revents: 0)) }

            do { try Syscalls.poll(&fds, timeoutMilliseconds: timeout) } catch { return .failed(error) }

            if clientIndex >= 0, fds[clientIndex].revents & Syscalls.hangUpEvents != 0 { return .clientDisconnected }
            if cancelIndex >= 0, fds[cancelIndex].revents != 0 { return .cancelled }
            if stdinIndex >= 0, fds[stdinIndex].revents != 0 { writeInput() }
            if stderrIndex >= 0, fds[stderrIndex].revents != 0 {
                stderrOpen = drain(process.standardError) { stderrTail.append($0) }
            }
            if fds[stdoutIndex].revents != 0 {
                lastOutput = clock.now()
                if let ending = readOutput(onLine: onLine, onLinesRead: onLinesRead) { return ending }
            }
        }
    }

    /// Reads whatever stdout and stderr hold right now, without waiting, and keeps stdout's complete lines for the next
    /// run (an idle process between turns). Returns false once stdout has ended: the process is gone.
    public func collectAvailableOutput() -> Bool {
        guard stdoutOpen else { return false }
        if stderrOpen { stderrOpen = drain(process.standardError) { stderrTail.append($0) } }
        stdoutOpen = drain(process.standardOutput) { bytes in
            stdout.append(bytes) { line in undelivered.append(Array(line)) }
        }
        return stdoutOpen
    }

    /// Lines read and kept for the next run.
    public var pendingLines: Int { undelivered.count }

    /// Reads what stdout has and hands over its lines, read by read. Returns an ending when the run is over.
    private func readOutput(onLine: (ArraySlice<UInt8>) throws(ClientDisconnected) -> LineVerdict,
                            onLinesRead: () throws(ClientDisconnected) -> Void) -> Ending? {
        var verdict = LineVerdict.more
        var disconnected = false
        stdoutOpen = drain(process.standardOutput) { bytes in
            var delivered = false
            stdout.append(bytes) { line in
                guard verdict == .more, !disconnected else {
                    undelivered.append(Array(line))
                    return
                }
                delivered = true
                do { verdict = try onLine(line) } catch { disconnected = true }
            }
            guard delivered, verdict == .more, !disconnected else { return }
            do { try onLinesRead() } catch { disconnected = true }
        }
        if disconnected { return .clientDisconnected }
        if verdict == .done { return .consumerFinished }
        guard !stdoutOpen else { return nil }
        if let last = stdout.finish() {
            do {
                if try onLine(last) == .done { return .consumerFinished }
                try onLinesRead()
            } catch { return .clientDisconnected }
        }
        // Let stderr say why, if the process wrote anything there on its way out.
        if stderrOpen { stderrOpen = drain(process.standardError) { stderrTail.append($0) } }
        return .outputEnded
    }

    private func writeInput() {
        let result = pendingInput.withUnsafeBytes { raw in
            Result { () throws(SystemError) -> IOResult<Int> in
                try Syscalls.write(process.standardInput, UnsafeRawBufferPointer(rebasing: raw[inputOffset...]))
            }
        }
        switch result {
        case .success(.processed(let written)): inputOffset += written
        case .success(.wouldBlock): return
        case .failure: inputOffset = pendingInput.count  // the process closed its stdin (it ended); stdout will say how
        }
        if inputOffset >= pendingInput.count {
            pendingInput.removeAll(keepingCapacity: true)
            inputOffset = 0
            if closeInputWhenWritten { process.closeStandardInput() }
        }
    }

    /// Reads what is available (at most 1 MiB per call, to stay responsive). Returns false at end of file.
    private func drain(_ fd: Int32, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var total = 0
        while total < (1 << 20) {
            let result = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) -> IOResult<Int> in
                    let result = try Syscalls.read(fd, into: raw)
                    if case .processed(let n) = result, n > 0 { body(UnsafeRawBufferPointer(rebasing: raw[..<n])) }
                    return result
                }
            }
            switch result {
            case .success(.wouldBlock): return true
            case .success(.processed(0)), .failure: return false
            case .success(.processed(let n)): total += n
            }
        }
        return true
    }
}
