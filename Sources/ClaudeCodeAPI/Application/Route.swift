import FoundationEssentials
import HTTPCore

/// One entry of the route table: the methods and path it answers, who may call it, and its handler.
public struct Route: Sendable {
    /// Who may call a route.
    public enum Access: Sendable {
        /// The default: anyone with a key (`CCA_API_KEYS_FILE`), or anyone at all when keys are off.
        case apiKey
        /// No key ever asked for (`/health`, for load balancers and monitors).
        case open
        /// Operator endpoints (`/status`, ...): only clients on the machine itself (loopback `REMOTE_ADDR`), no key.
        case operatorOnly
    }

    public typealias Handler = @Sendable (RequestContext) -> RequestOutcome

    /// The methods as registered; a route that answers GET answers HEAD too.
    public let methods: [HTTPMethod]
    public let pattern: PathPattern
    /// What metrics call the route: its first path, the same for every alias (`/chat/completions` is
    /// `/v1/chat/completions`).
    public let name: String
    public let access: Access
    public let errorFormat: any ErrorFormat
    public let handler: Handler

    public init(methods: [HTTPMethod], pattern: PathPattern, name: String? = nil, access: Access, errorFormat: any ErrorFormat,
                handler: @escaping Handler) {
        self.methods = methods.contains(.get) && !methods.contains(.head) ? methods + [.head] : methods
        self.pattern = pattern
        self.name = name ?? pattern.description
        self.access = access
        self.errorFormat = errorFormat
        self.handler = handler
    }
}

/// A path such as `/v1/models/{id}`: literal segments, and `{name}` segments that match any one non-empty segment.
public struct PathPattern: Sendable, Equatable, CustomStringConvertible {
    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private let segments: [Segment]
    public let description: String

    public init(_ pattern: String) {
        description = pattern
        segments = pattern.split(separator: "/").map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? .parameter(String(segment.dropFirst().dropLast())) : .literal(String(segment))
        }
    }

    /// The parameters when `path` matches.
    public func match(_ path: String) -> [String: String]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal): guard part == literal else { return nil }
            case .parameter(let name):
                guard !part.isEmpty, let value = PercentDecoding.decode(part), !value.isEmpty else { return nil }
                parameters[name] = value
            }
        }
        return parameters
    }
}
