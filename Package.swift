// swift-tools-version:6.0
import PackageDescription

// Linux only: the service uses pipe2, POLLRDHUP, posix_spawn's *_np file actions and waitid (see CSystemShims),
// and libfcgi from Debian. No Apple platform is declared because none is supported.
//
// Dependencies point one way:
//   claude-code-api (executable) -> FastCGI (transport) ----> HTTPCore, SystemCalls
//                                -> ClaudeCodeAPI (application) -> HTTPCore, SystemCalls, SQLite
//                                -> ArgumentParser (the `keys` subcommands)
// The transport never imports the application, and the application never imports the transport.
let package = Package(
    name: "claude-code-api",
    products: [
        .executable(name: "claude-code-api", targets: ["claude-code-api"]),
    ],
    dependencies: [
        // The `keys` subcommands of the executable (`claude-code-api` alone is the server).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // /metrics: swift-prometheus's registry renders the text exposition format; it implements swift-metrics'
        // handler protocols (CoreMetrics), named here so that its version is ours to choose. Both are locks and
        // atomics only: no event loop, no async runtime, so the libfcgi worker threads record directly.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        // libfcgi's C API, from Debian's libfcgi-dev. Only the FastCGI target imports it.
        .systemLibrary(
            name: "CFastCGI",
            providers: [.apt(["libfcgi-dev"])]
        ),
        // SQLite's C API, from Debian's libsqlite3-dev. Only the SQLite target imports it.
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // SQLite wrapped once: a connection, prepared statements, typed errors (the stored responses use it).
        .target(name: "SQLite", dependencies: ["CSQLite"]),
        // Linux calls that Swift's Glibc module does not expose (pipe2, posix_spawn *_np, POLLRDHUP).
        .target(name: "CSystemShims"),
        // Every system call, wrapped once: EINTR retried, errno as a typed error, "would block" as a value.
        .target(name: "SystemCalls", dependencies: ["CSystemShims"]),
        // What transport and application share: a request, a body reader, a response writer, the handler protocol.
        .target(name: "HTTPCore"),
        // The transport: accept loop, params, body, stdout over libfcgi. Knows requests and responses, not the API.
        .target(
            name: "FastCGI",
            dependencies: ["CFastCGI", "HTTPCore", "SystemCalls"]
        ),
        // The application: routes, admission, the CLI session and turn, wire formats, errors, config. No FastCGI.
        .target(
            name: "ClaudeCodeAPI",
            dependencies: [
                "HTTPCore", "SystemCalls", "SQLite",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Wires configuration, the FastCGI server, the application and the signals together.
        .executableTarget(
            name: "claude-code-api",
            dependencies: ["ClaudeCodeAPI", "FastCGI", "HTTPCore", "SystemCalls",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The application in-process: an in-memory transport and a scripted CLI.
        .testTarget(
            name: "ClaudeCodeAPITests",
            dependencies: ["ClaudeCodeAPI", "HTTPCore", "SystemCalls", "SQLite"],
            resources: [.copy("Fixtures")]
        ),
        // The transport with a trivial handler, spoken to as nginx would over a unix socket.
        .testTarget(
            name: "FastCGITests",
            dependencies: ["FastCGI", "HTTPCore", "SystemCalls"]
        ),
    ]
)
