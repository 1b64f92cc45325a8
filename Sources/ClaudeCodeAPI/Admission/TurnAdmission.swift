import FoundationEssentials

/// What every API surface does before a model turn, the same way: read the body within its limit and parse it,
/// resolve the model and the CLI, check the key's own limits (at once: 429, never queued), and take a CLI slot (a
/// bounded wait; refused with 429 or 503, or abandoned when the client leaves meanwhile). The surface decodes its own
/// request in between.
public struct TurnAdmission: Sendable {
    let configuration: Configuration
    let slots: CLISlots
    let cli: CLIProbe
    let keyLimits: KeyLimiter

    /// The request body as JSON. Bodies over the limit are refused before they are read in full.
    public func readJSONBody(_ context: RequestContext) throws(APIError) -> JSONValue {
        // A browser may send a "simple" cross-origin POST (text/plain, form types) without a preflight: only JSON
        // bodies are accepted. No Content-Type at all is fine (command-line clients often omit it).
        if let contentType = context.request.contentType, !Self.isJSON(contentType) {
            throw .unsupportedContentType(contentType)
        }
        let limit = configuration.maxBodyBytes
        if let length = context.request.contentLength, length > limit { throw .bodyTooLarge(limit: limit) }
        let bytes: [UInt8]
        do { bytes = try context.body.readAll(limit: limit) } catch { throw .bodyTooLarge(limit: error.limit) }
        guard !bytes.isEmpty else { throw .invalidJSON("the body is empty") }
        do { return try JSONValue.parse(bytes) } catch let JSONValue.ShapeError.tooDeep(depth) {
            throw .invalidJSON("nested deeper than \(depth) levels")
        } catch let JSONValue.ShapeError.tooManyValues(count) {
            throw .invalidJSON("more than \(count) values")
        } catch {
            throw .invalidJSON("it is not valid JSON")
        }
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`), in any case.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return mediaType.trimmingSpaces().lowercased() == "application/json"
    }

    /// The name the CLI gets for a requested model.
    public func cliModel(for requested: String) throws(APIError) -> String {
        guard let model = configuration.models.cliModel(for: requested) else { throw .modelNotFound(requested) }
        return model
    }

    /// The CLI's absolute path, looked up now (installing it later needs no restart).
    public func executable() throws(APIError) -> String {
        guard let path = cli.executablePath else { throw .cliNotInstalled() }
        return path
    }

    /// Runs `turn` holding its key's place (when the request has a key) and a CLI slot, or answers why it cannot run.
    /// The key's `x-ratelimit-*` headers go on whatever response follows. A turn that never starts (no slot, client
    /// gone) gives its key's request token back. The key's place is given back when the response ends, or when the turn
    /// does, whichever comes first.
    public func withSlot(_ context: RequestContext, model: String?, _ turn: () -> RequestOutcome) -> RequestOutcome {
        var pass: KeyPass?
        if let key = context.apiKey {
            switch keyLimits.admit(key) {
            case .refused(let error): return context.fail(error)
            case .admitted(let admitted):
                pass = admitted
                if let rateLimit = admitted.rateLimit { context.addResponseHeaders(rateLimit.headers) }
            }
        }
        let clientLeft = { context.clientHasLeft }
        switch slots.acquire(timeoutMilliseconds: configuration.queueTimeoutMilliseconds, clientLeft: clientLeft) {
        case .admitted: break
        case .refused:
            pass?.giveBack()
            return context.fail(slots.isDraining ? .shuttingDown() : .overCapacity(retryAfterSeconds: 1))
        case .abandoned:
            pass?.giveBack()
            return .clientGone(model: model)
        }
        defer { slots.release() }
        // A client that gave up meanwhile does not get a CLI.
        if clientLeft() {
            pass?.giveBack()
            return .clientGone(model: model)
        }
        // The key's place is free as soon as the client has its answer (the CLI may take a moment more to exit).
        if let pass { context.whenResponseEnds { pass.release() } }
        defer { pass?.release() }
        return turn()
    }
}
