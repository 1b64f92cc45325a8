#if canImport(Glibc)
import Glibc
#endif

/// Finds the CLI program: a path as given, or a bare name looked up in PATH, the way a shell would.
public enum CLIExecutable {
    public static func resolve(_ nameOrPath: String, searchPath: String?) -> String? {
        if nameOrPath.contains("/") {
            return access(nameOrPath, X_OK) == 0 ? nameOrPath : nil
        }
        for directory in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(nameOrPath)"
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }
}
