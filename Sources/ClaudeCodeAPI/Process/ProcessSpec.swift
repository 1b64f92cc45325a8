/// Everything needed to start one child process. Nothing here passes through a shell.
public struct ProcessSpec: Sendable, Equatable {
    /// Absolute path of the program.
    public var executable: String
    /// Arguments after argv[0].
    public var arguments: [String]
    /// The child's whole environment: nothing is inherited.
    public var environment: [String: String]
    public var workingDirectory: String?

    public init(executable: String, arguments: [String], environment: [String: String], workingDirectory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }
}
