// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "claude-code-api",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "claude-code-api", targets: ["claude-code-api"]),
    ],
    targets: [
        // libfcgi's C API, from Debian's libfcgi-dev. Only the FastCGI target imports it.
        .systemLibrary(
            name: "CFastCGI",
            providers: [.apt(["libfcgi-dev"])]
        ),
        // Moves bytes between nginx and the application: accept loop, params, body, stdout.
        .target(
            name: "FastCGI",
            dependencies: ["CFastCGI", "ClaudeCodeAPI"]
        ),
        // Linux calls that Swift's Glibc module does not expose (pipe2, posix_spawn *_np, POLLRDHUP).
        .target(name: "CSystemShims"),
        // The application: OpenAI wire types, validation, conversion, the CLI runner, SSE, config, errors.
        // Knows nothing of FastCGI.
        .target(name: "ClaudeCodeAPI", dependencies: ["CSystemShims"]),
        // Wires configuration, the FastCGI server and the application together.
        .executableTarget(
            name: "claude-code-api",
            dependencies: ["ClaudeCodeAPI", "FastCGI"]
        ),
        .testTarget(
            name: "ClaudeCodeAPITests",
            dependencies: ["ClaudeCodeAPI"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
