import Foundation
@testable import ClaudeCodeAPI

/// A stand-in CLI without a process: real pipes, with a thread that plays a script into stdout.
/// Used to run the whole request path in-process.
struct ScriptedProcessLauncher: ProcessLauncher {
    enum Step: Sendable {
        case line([UInt8])
        case stderr(String)
        case pause(milliseconds: Int)
        /// Stays silent until terminated.
        case hang
    }

    let steps: @Sendable () -> [Step]
    let launches = Counter()
    /// Specs seen, for assertions on argv and environment.
    let specs = SpecLog()

    init(_ steps: @escaping @Sendable () -> [Step]) { self.steps = steps }

    /// Plays a recording line by line.
    static func replaying(_ fixture: String, pauseMilliseconds: Int = 0) -> ScriptedProcessLauncher {
        ScriptedProcessLauncher {
            Fixtures.lines(fixture).flatMap { line -> [Step] in
                pauseMilliseconds > 0 ? [.pause(milliseconds: pauseMilliseconds), .line(line)] : [.line(line)]
            }
        }
    }

    func launch(_ spec: ProcessSpec) throws -> any ChildProcess {
        launches.increment()
        specs.append(spec)
        return try ScriptedChildProcess(steps: steps())
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

final class SpecLog: @unchecked Sendable {
    private let lock = NSLock()
    private var specs: [ProcessSpec] = []
    func append(_ spec: ProcessSpec) { lock.lock(); specs.append(spec); lock.unlock() }
    var all: [ProcessSpec] { lock.lock(); defer { lock.unlock() }; return specs }
}

final class ScriptedChildProcess: ChildProcess, @unchecked Sendable {
    private(set) var standardInput: Int32
    private(set) var standardOutput: Int32
    private(set) var standardError: Int32
    private let outWrite: Int32
    private let errWrite: Int32
    private let inRead: Int32
    private let stopped = Counter()
    private let exited = Counter()

    var pid: Int32? { nil }

    init(steps: [ScriptedProcessLauncher.Step]) throws {
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

    private func play(_ steps: [ScriptedProcessLauncher.Step]) {
        defer {
            Syscalls.close(outWrite)
            Syscalls.close(errWrite)
            exited.increment()
        }
        for step in steps {
            if stopped.value > 0 { return }
            switch step {
            case .line(let bytes): try? Syscalls.writeAll(outWrite, bytes + [0x0A])
            case .stderr(let text): try? Syscalls.writeAll(errWrite, Array(text.utf8))
            case .pause(let ms): Syscalls.sleep(milliseconds: ms)
            case .hang: while stopped.value == 0 { Syscalls.sleep(milliseconds: 5) }
            }
        }
    }

    func closeStandardInput() {
        if standardInput >= 0 { Syscalls.close(standardInput); standardInput = -1 }
    }

    func hasExited() -> Bool { exited.value > 0 }

    var wasTerminated: Bool { stopped.value > 0 }

    private var closed = false

    @discardableResult
    func terminate(graceMilliseconds: Int) -> Int32 {
        guard !closed else { return 0 }
        closed = true
        stopped.increment()
        while exited.value == 0 { Syscalls.sleep(milliseconds: 1) }
        closeStandardInput()
        for fd in [standardOutput, standardError, inRead] where fd >= 0 { Syscalls.close(fd) }
        standardOutput = -1
        standardError = -1
        return 0
    }
}

