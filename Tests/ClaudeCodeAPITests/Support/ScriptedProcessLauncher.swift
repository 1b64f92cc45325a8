import Foundation
import Synchronization
import SystemCalls
@testable import ClaudeCodeAPI

/// A stand-in CLI without a process: real pipes, with a thread that plays a script into stdout.
/// Used to run the whole request path in-process.
struct ScriptedProcessLauncher: ProcessLauncher {
    enum Step: Sendable {
        case line([UInt8])
        /// Several lines in one write (a reader gets them in one read).
        case lines([[UInt8]])
        case stderr(String)
        case pause(milliseconds: Int)
        /// Stays silent until signalled.
        case hang
    }

    let steps: @Sendable () -> [Step]
    let launches = Counter()
    /// Specs seen, for assertions on argv and environment.
    let specs = Recorded<ProcessSpec>()
    let children = Recorded<ScriptedChildProcess>()

    init(_ steps: @escaping @Sendable () -> [Step]) { self.steps = steps }

    /// Plays a recording line by line.
    static func replaying(_ fixture: String, pauseMilliseconds: Int = 0) -> ScriptedProcessLauncher {
        ScriptedProcessLauncher {
            Fixtures.lines(fixture).flatMap { line -> [Step] in
                pauseMilliseconds > 0 ? [.pause(milliseconds: pauseMilliseconds), .line(line)] : [.line(line)]
            }
        }
    }

    func launch(_ spec: ProcessSpec) throws(SystemError) -> any ChildProcess {
        launches.increment()
        specs.append(spec)
        let child = try ScriptedChildProcess(steps: steps())
        children.append(child)
        return child
    }

    func killAll() {
        for child in children.all { child.signalGroup(SIGKILL) }
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// A list that threads append to, read by the test afterwards.
final class Recorded<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var elements: [Element] = []
    func append(_ element: Element) { lock.lock(); elements.append(element); lock.unlock() }
    var all: [Element] { lock.lock(); defer { lock.unlock() }; return elements }
    var last: Element? { all.last }
}

final class ScriptedChildProcess: ChildProcess, @unchecked Sendable {
    private(set) var standardInput: Int32
    private(set) var standardOutput: Int32
    private(set) var standardError: Int32
    private let outWrite: Int32
    private let errWrite: Int32
    private var inRead: Int32
    /// The first signal the "process group" got, if any.
    private let signalled = Mutex<Int32?>(nil)
    private let exited = Mutex(false)
    private var exit: ProcessExit?

    var pid: Int32? { nil }

    init(steps: [ScriptedProcessLauncher.Step]) throws(SystemError) {
        let input = try Syscalls.pipe()
        let output = try Syscalls.pipe()
        let error = try Syscalls.pipe()
        standardInput = input.write
        standardOutput = output.read
        standardError = error.read
        inRead = input.read
        outWrite = output.write
        errWrite = error.write
        for fd in [standardInput, standardOutput, standardError] { try Syscalls.setNonBlocking(fd) }
        let thread = Thread { [self] in self.play(steps) }
        thread.start()
    }

    private var isSignalled: Bool { signalled.withLock { $0 != nil } }

    private func play(_ steps: [ScriptedProcessLauncher.Step]) {
        defer {
            Syscalls.close(outWrite)
            Syscalls.close(errWrite)
            exited.withLock { $0 = true }
        }
        for step in steps {
            if isSignalled { return }
            switch step {
            case .line(let bytes): try? Syscalls.writeAll(outWrite, bytes + [0x0A])
            case .lines(let lines): try? Syscalls.writeAll(outWrite, lines.flatMap { $0 + [0x0A] })
            case .stderr(let text): try? Syscalls.writeAll(errWrite, Array(text.utf8))
            case .pause(let ms): Syscalls.sleep(milliseconds: ms)
            case .hang: while !isSignalled { Syscalls.sleep(milliseconds: 5) }
            }
        }
    }

    func closeStandardInput() {
        if standardInput >= 0 { Syscalls.close(standardInput); standardInput = -1 }
    }

    private let inputRead = Mutex<[UInt8]>([])

    /// Everything written to the process's stdin so far (read from the pipe as the test asks).
    func writtenInput() -> String {
        inputRead.withLock { bytes in
            guard inRead >= 0 else { return String(decoding: bytes, as: UTF8.self) }
            try? Syscalls.setNonBlocking(inRead)
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let result = buffer.withUnsafeMutableBytes { raw in try? Syscalls.read(inRead, into: raw) }
                guard case .processed(let n)? = result, n > 0 else { break }
                bytes += buffer[..<n]
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    func hasExited() -> Bool { exited.withLock { $0 } }

    /// A signal to a script that has already ended finds no process, as with a real one.
    func signalGroup(_ signal: Int32) {
        guard !hasExited() else { return }
        signalled.withLock { if $0 == nil { $0 = signal } }
    }

    /// Whether the process was signalled before it ended by itself.
    var wasTerminated: Bool { isSignalled }

    func reap() -> ProcessExit {
        if let exit { return exit }
        // The play thread notices a signal within one step (a pause, or 5 ms of a hang).
        let ended = waitUntil(seconds: 10) { hasExited() }
        precondition(ended, "the scripted process did not stop")
        closeStandardInput()
        _ = writtenInput()
        inputRead.withLock { _ in
            Syscalls.close(inRead)
            inRead = -1
        }
        for fd in [standardOutput, standardError] where fd >= 0 { Syscalls.close(fd) }
        standardOutput = -1
        standardError = -1
        let result: ProcessExit = signalled.withLock { signal in signal.map { .signalled($0) } ?? .exited(code: 0) }
        exit = result
        return result
    }
}
