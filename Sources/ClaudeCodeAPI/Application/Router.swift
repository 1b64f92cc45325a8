import HTTPCore

/// The route table: each route registered once, by method and path; 404, 405 and `Allow` are derived from it.
public struct Router: Sendable {
    public enum Resolution {
        case route(Route, parameters: [String: String])
        /// The path exists, the method does not: these are the methods it takes, and its surface's error format.
        case methodNotAllowed([HTTPMethod], any ErrorFormat)
        case notFound
    }

    private var routes: [Route] = []

    public init() {}

    /// Registers `handler` for `methods` on each of `paths` (aliases such as `/models` beside `/v1/models`).
    /// Routes need a key unless registered otherwise: a new surface is behind the keys without asking.
    public mutating func add(_ methods: [HTTPMethod], _ paths: [String], access: Route.Access = .apiKey,
                             errorFormat: any ErrorFormat, handler: @escaping Route.Handler) {
        for path in paths {
            routes.append(Route(methods: methods, pattern: PathPattern(path), access: access, errorFormat: errorFormat, handler: handler))
        }
    }

    /// Finds the route for a request. One trailing slash is ignored (`/v1/models/` is `/v1/models`).
    public func resolve(_ method: HTTPMethod, _ path: String) -> Resolution {
        let path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        var allowed: [HTTPMethod] = []
        var format: (any ErrorFormat)?
        for route in routes {
            guard let parameters = route.pattern.match(path) else { continue }
            if route.methods.contains(method) { return .route(route, parameters: parameters) }
            allowed += route.methods.filter { !allowed.contains($0) }
            format = format ?? route.errorFormat
        }
        guard let format else { return .notFound }
        return .methodNotAllowed(allowed, format)
    }
}
