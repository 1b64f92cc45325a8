import SystemCalls

/// Finds the CLI program: a path as given, or a bare name looked up in PATH, the way a shell would.
public enum CLIExecutable {
    public static func resolve(_ nameOrPath: String, searchPath: String?) -> String? {
        if nameOrPath.contains("/") {
            return Syscalls.isExecutable(nameOrPath) ? nameOrPath : nil
        }
        for directory in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(nameOrPath)"
            if Syscalls.isExecutableFile(candidate) { return candidate }
        }
        return nil
    }
}
