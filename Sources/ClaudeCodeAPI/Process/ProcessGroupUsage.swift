import SystemCalls

/// How many processes the given process groups hold right now, and their resident memory in total, read from /proc.
/// A CLI runs in a group of its own, with whatever helpers it starts; this counts them all. Zombies (exited, not yet
/// reaped) hold no memory and are not counted.
public struct ProcessGroupUsage: Equatable, Sendable {
    public var processes = 0
    public var residentBytes: UInt64 = 0

    public init(processes: Int = 0, residentBytes: UInt64 = 0) {
        self.processes = processes
        self.residentBytes = residentBytes
    }

    /// Scans `procRoot` (every process's `stat` file): one pass, whatever the number of groups.
    public static func sample(groups: Set<Int32>, procRoot: String = "/proc") -> ProcessGroupUsage {
        var usage = ProcessGroupUsage()
        guard !groups.isEmpty, let entries = try? Syscalls.directoryEntries(procRoot) else { return usage }
        let pageSize = UInt64(Syscalls.pageSize)
        for entry in entries where entry.first?.isNumber == true {
            guard let bytes = try? Syscalls.readFile("\(procRoot)/\(entry)/stat", limit: 4096),
                  let stat = Stat(bytes), stat.state != "Z", groups.contains(stat.processGroup) else { continue }
            usage.processes += 1
            usage.residentBytes += stat.residentPages * pageSize
        }
        return usage
    }

    /// The fields of `/proc/PID/stat` this needs. The command name (field 2) may hold spaces and parentheses, so
    /// the fields are counted from its last `)`: state (3), pgrp (5), rss in pages (24).
    struct Stat {
        var state: Character
        var processGroup: Int32
        var residentPages: UInt64

        init?(_ bytes: [UInt8]) {
            guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
            let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
            guard fields.count > 21, let state = fields[0].first,
                  let group = Int32(String(decoding: fields[2], as: UTF8.self)),
                  let pages = UInt64(String(decoding: fields[21], as: UTF8.self)) else { return nil }
            self.state = Character(UnicodeScalar(state))
            processGroup = group
            residentPages = pages
        }
    }
}
