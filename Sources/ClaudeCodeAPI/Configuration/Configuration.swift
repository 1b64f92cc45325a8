import FoundationEssentials
import SystemCalls

/// Everything the service can be told, read once at start from environment variables (`.env.example` lists them).
public struct Configuration: Sendable {
    /// Where to listen (`CCA_LISTEN`): a unix socket path, or an IPv4 address and port (`10.0.0.5:9000`; `:9000` is
    /// every interface); nil means the socket passed as fd 0 (systemd, spawn-fcgi).
    public var listen: SocketAddress?
    /// The web servers allowed to connect to a TCP socket (`CCA_FASTCGI_ALLOWED`: IPv4 addresses); empty: no list.
    public var fastCGIAllowedPeers: [String]
    public var socketMode: Int
    /// Group that owns the socket file (nginx's group), when set.
    public var socketGroup: String?
    /// FastCGI worker threads: requests handled at once, CLI or not.
    public var workers: Int
    /// CLI processes allowed at once (php-fpm's pm.max_children).
    public var maxConcurrentCLI: Int
    /// How long a request waits for a free CLI slot before it gets 429.
    public var queueTimeoutMilliseconds: Int
    public var claudePath: String
    public var requestTimeoutSeconds: Int
    /// A CLI that prints nothing for this long is ended.
    public var stallTimeoutSeconds: Int
    /// SSE keep-alive comment interval; also how long a stream holds its headers back waiting for an early error.
    public var pingIntervalSeconds: Int
    public var maxOutputTokens: Int
    /// `CLAUDE_CODE_MAX_RETRIES` given to the CLI.
    public var maxRetries: Int
    public var models: ModelCatalog
    public var maxBodyBytes: Int
    public var logLevel: LogLevel
    /// Parent folder of the per-request scratch folders.
    public var scratchRoot: String
    /// Environment given to the CLI besides the service's own settings: credentials and proxies.
    public var cliEnvironment: [String: String]
    /// SIGTERM -> SIGKILL grace when a CLI is ended.
    public var killGraceMilliseconds: Int
    /// On SIGTERM, how long in-flight requests may run before their CLIs are ended.
    public var drainTimeoutSeconds: Int
    /// How long a worker may spend receiving one request from the socket before the connection is dropped.
    public var requestReadTimeoutMilliseconds: Int
    /// How long one write to a slow client may block before the client is dropped (below nginx's `send_timeout`).
    public var clientWriteTimeoutSeconds: Int
    /// The client key file; nil leaves the service open to anyone who can reach it.
    public var apiKeysFile: String?
    /// Limits for keys whose line sets none (nil values: unlimited).
    public var keyDefaults: KeyLimits
    /// Where the stored responses live (`CCA_STATE_DIR`, else systemd's `STATE_DIRECTORY`); nil: nothing is stored.
    public var stateDirectory: String? = nil
    /// How long a stored response is kept (`CCA_RESPONSES_TTL_HOURS`).
    public var responsesTTLHours = 720
    /// The most bytes of stored responses one owner keeps; past it, its oldest go (`CCA_RESPONSES_MAX_MB_PER_OWNER`).
    public var responsesMaxBytesPerOwner = 256 << 20
    /// The warm pool of pre-started CLIs (off unless configured; `fromEnvironment` turns it on by default).
    public var pool = PoolSettings.off

    /// Names always passed to the CLI when set (credentials, endpoints, proxies, locale).
    public static let passedThroughVariables = [
        "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_CUSTOM_HEADERS", "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_PROFILE", "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_APPLICATION_CREDENTIALS",
        "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy", "NODE_EXTRA_CA_CERTS",
        "LANG", "LC_ALL", "TZ",
    ]

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> Configuration {
        let reader = EnvironmentReader(env)
        if reader.string("CCA_CLI_HOME") != nil {
            // A shared HOME let every client read the others' transcripts and keep settings for all later ones.
            throw ConfigurationError(variable: "CCA_CLI_HOME", message: "no longer supported: every turn gets a private HOME. "
                + "Give the CLI its credentials through ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN (`claude setup-token`)")
        }
        let workers = try reader.integer("CCA_WORKERS", default: 32, in: 2...1024)
        let memoryBasedSlots = max(1, Int(ProcessInfo.processInfo.physicalMemory / (300 << 20)))
        var cliEnvironment: [String: String] = [:]
        for name in passedThroughVariables + reader.list("CCA_CLI_PASS_ENV") {
            if let value = env[name] { cliEnvironment[name] = value }
        }
        cliEnvironment["PATH"] = env["CCA_CLI_PATH_ENV"] ?? "/usr/local/bin:/usr/bin:/bin"
        if env[webServerAddressesVariable] != nil {
            // libfcgi would read it; the responder sets it from CCA_FASTCGI_ALLOWED alone, so that one setting decides.
            throw ConfigurationError(variable: webServerAddressesVariable, message: "not read by claude-code-api: give the web servers allowed to connect in CCA_FASTCGI_ALLOWED")
        }

        var configuration = Configuration(
            listen: try listenAddress(reader.string("CCA_LISTEN")),
            fastCGIAllowedPeers: try allowedPeers(reader.list("CCA_FASTCGI_ALLOWED")),
            socketMode: try reader.octal("CCA_SOCKET_MODE", default: 0o660),
            socketGroup: reader.string("CCA_SOCKET_GROUP"),
            workers: workers,
            // Fewer slots than workers: the spare workers answer /health and /v1/models, and turn excess away with 429.
            maxConcurrentCLI: try reader.integer("CCA_MAX_CONCURRENT_CLI", default: max(1, min(workers / 2, memoryBasedSlots)), in: 1...1024),
            queueTimeoutMilliseconds: try reader.integer("CCA_QUEUE_TIMEOUT_MS", default: 250, in: 0...600_000),
            claudePath: reader.string("CCA_CLAUDE_PATH") ?? "claude",
            requestTimeoutSeconds: try reader.integer("CCA_REQUEST_TIMEOUT_SECONDS", default: 600, in: 1...86_400),
            stallTimeoutSeconds: try reader.integer("CCA_STALL_TIMEOUT_SECONDS", default: 300, in: 1...86_400),
            pingIntervalSeconds: try reader.integer("CCA_PING_INTERVAL_SECONDS", default: 15, in: 1...3_600),
            maxOutputTokens: try reader.integer("CCA_MAX_OUTPUT_TOKENS", default: 64_000, in: 1...1_000_000),
            maxRetries: try reader.integer("CCA_MAX_RETRIES", default: 2, in: 0...10),
            models: ModelCatalog(
                models: reader.list("CCA_MODELS", default: ModelCatalog.defaultModels),
                aliases: try reader.string("CCA_MODEL_ALIASES").map(ModelCatalog.parseAliases) ?? ModelCatalog.defaultAliases),
            maxBodyBytes: try reader.integer("CCA_MAX_BODY_BYTES", default: 10 << 20, in: 1...(1 << 30)),
            logLevel: try reader.logLevel("CCA_LOG_LEVEL", default: .info),
            scratchRoot: reader.string("CCA_SCRATCH_DIR") ?? env["TMPDIR"] ?? "/tmp",
            cliEnvironment: cliEnvironment,
            killGraceMilliseconds: try reader.integer("CCA_KILL_GRACE_MS", default: 300, in: 0...60_000),
            drainTimeoutSeconds: try reader.integer("CCA_DRAIN_TIMEOUT_SECONDS", default: 30, in: 0...3_600),
            requestReadTimeoutMilliseconds: try reader.integer("CCA_REQUEST_READ_TIMEOUT_MS", default: 5_000, in: 100...600_000),
            clientWriteTimeoutSeconds: try reader.integer("CCA_CLIENT_WRITE_TIMEOUT_SECONDS", default: 30, in: 1...3_600),
            apiKeysFile: reader.string("CCA_API_KEYS_FILE"),
            keyDefaults: KeyLimits(maxConcurrent: try reader.optionalInteger("CCA_KEY_DEFAULT_MAX_CONCURRENT", in: 1...1_000_000),
                                   requestsPerMinute: try reader.optionalInteger("CCA_KEY_DEFAULT_RPM", in: 1...1_000_000)))
        configuration.stateDirectory = reader.string("CCA_STATE_DIR") ?? reader.string("STATE_DIRECTORY")
        configuration.responsesTTLHours = try reader.integer("CCA_RESPONSES_TTL_HOURS", default: 720, in: 1...87_600)
        configuration.responsesMaxBytesPerOwner = try reader.integer("CCA_RESPONSES_MAX_MB_PER_OWNER", default: 256, in: 1...1_048_576) << 20
        configuration.pool = PoolSettings(
            size: try reader.integer("CCA_POOL_SIZE", default: PoolSettings.defaultSize, in: 0...256),
            maxUses: try reader.integer("CCA_POOL_MAX_USES", default: 100, in: 1...100_000),
            maxAgeSeconds: try reader.integer("CCA_POOL_MAX_AGE_SECONDS", default: 3_600, in: 1...604_800),
            maxProcesses: try reader.integer("CCA_MAX_CLI_PROCESSES", default: PoolSettings.memoryBasedProcessCap, in: 1...4_096))
        return configuration
    }
}

extension Configuration {
    static let webServerAddressesVariable = "FCGI_WEB_SERVER_ADDRS"

    /// `CCA_LISTEN`: empty is the inherited socket; `host:port` with an IPv4 host (empty or `*`: every interface) is
    /// TCP; anything else is a unix socket path. IPv6 and host names are refused: libfcgi checks IPv4 peers only.
    static func listenAddress(_ text: String?) throws(ConfigurationError) -> SocketAddress? {
        guard let text else { return nil }
        guard !text.contains("/"), let colon = text.lastIndex(of: ":") else { return .unix(path: text) }
        let host = String(text[..<colon])
        let portText = String(text[text.index(after: colon)...])
        guard portText.utf8.allSatisfy({ (48...57).contains($0) }), let port = UInt16(portText), port > 0 else {
            throw ConfigurationError(variable: "CCA_LISTEN", message: "expected a unix socket path or an IPv4 address and port such as 10.0.0.5:9000, got '\(text)'")
        }
        if host.isEmpty || host == "*" { return .ipv4(host: "0.0.0.0", port: port) }
        guard Syscalls.ipv4Address(host) != nil else {
            throw ConfigurationError(variable: "CCA_LISTEN", message: "'\(host)' is not an IPv4 address (IPv6 and host names are not supported: libfcgi checks the peers of IPv4 connections only)")
        }
        return .ipv4(host: host, port: port)
    }

    /// `CCA_FASTCGI_ALLOWED`: IPv4 addresses in dotted-quad form, one each (libfcgi compares addresses, not networks).
    static func allowedPeers(_ list: [String]) throws(ConfigurationError) -> [String] {
        for address in list where Syscalls.ipv4Address(address) == nil {
            throw ConfigurationError(variable: "CCA_FASTCGI_ALLOWED", message: "'\(address)' is not an IPv4 address such as 10.0.0.2 (give each web server's address; networks are not supported)")
        }
        return list
    }
}

/// Reads typed values from environment variables; empty means unset.
private struct EnvironmentReader {
    let env: [String: String]
    init(_ env: [String: String]) { self.env = env }

    func string(_ name: String) -> String? {
        guard let value = env[name]?.trimmingSpaces(), !value.isEmpty else { return nil }
        return value
    }

    func list(_ name: String, default fallback: [String] = []) -> [String] {
        guard let value = string(name) else { return fallback }
        return value.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }

    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(variable: name, message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }

    func optionalInteger(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard string(name) != nil else { return nil }
        return try integer(name, default: 0, in: range)
    }

    func octal(_ name: String, default fallback: Int) throws(ConfigurationError) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text, radix: 8), (0...0o777).contains(value) else {
            throw ConfigurationError(variable: name, message: "expected an octal file mode such as 0660, got '\(text)'")
        }
        return value
    }

    func logLevel(_ name: String, default fallback: LogLevel) throws(ConfigurationError) -> LogLevel {
        guard let text = string(name) else { return fallback }
        guard let level = LogLevel(rawValue: text.lowercased()) else {
            throw ConfigurationError(variable: name, message: "expected one of \(LogLevel.allCases.map(\.rawValue)), got '\(text)'")
        }
        return level
    }
}
