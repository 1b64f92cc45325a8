/// The in-process MCP server the CLI reaches over its control channel (`--mcp-config` with an `sdk` server): it lists
/// the turn's client tools under their own names and answers the MCP handshake. It never runs a tool: the CLI's
/// permission question (`can_use_tool`) is left unanswered, so the call waits until the turn is cut at its end.
public struct ToolBridge: Sendable {
    /// The name of the server in the CLI's MCP configuration.
    public static let serverName = "client"
    /// `--mcp-config` for it: fixed text, nothing from the request.
    public static let mcpConfiguration = #"{"mcpServers":{"client":{"type":"sdk","name":"client"}}}"#

    let tools: [ClientTool]

    public init(tools: [ClientTool]) {
        self.tools = tools
    }

    /// What to do with one control request from the CLI.
    public enum Answer: Equatable, Sendable {
        case respond(JSONValue)
        case refuse(String)
        /// Leave it waiting (a permission to run a tool).
        case hold
    }

    public func answer(_ request: CLIControlRequest) -> Answer {
        switch request.subtype {
        case "mcp_message":
            guard request.request["server_name"]?.stringValue == Self.serverName, let message = request.request["message"] else {
                return .refuse("unknown MCP server")
            }
            return .respond(.object(["mcp_response": mcpResponse(to: message)]))
        case "can_use_tool":
            return .hold
        default:
            return .refuse("unsupported control request")
        }
    }

    /// JSON-RPC for one MCP message. Notifications get an empty result, as the CLI expects an answer to each.
    func mcpResponse(to message: JSONValue) -> JSONValue {
        let id = message["id"] ?? .null
        func result(_ value: JSONValue) -> JSONValue { .object(["jsonrpc": .string("2.0"), "id": id, "result": value]) }
        switch message["method"]?.stringValue {
        case "initialize":
            let version = message["params"]?["protocolVersion"] ?? .string("2025-06-18")
            return result(.object([
                "protocolVersion": version,
                "capabilities": .object(["tools": .object([:])]),
                "serverInfo": .object(["name": .string(Self.serverName), "version": .string("1")]),
            ]))
        case "tools/list":
            return result(.object(["tools": .array(tools.map { tool in
                .object(["name": .string(tool.name), "description": .string(tool.description), "inputSchema": tool.inputSchema])
            })]))
        case "tools/call":
            // Never reached (permission is never granted); if it were, nothing would run here.
            return result(.object(["isError": .bool(true),
                                   "content": .array([.object(["type": .string("text"), "text": .string("Tools run on the client.")])])]))
        case let method? where method.hasPrefix("notifications/"):
            return .object(["jsonrpc": .string("2.0"), "result": .object([:])])
        case "ping":
            return result(.object([:]))
        default:
            return .object(["jsonrpc": .string("2.0"), "id": id,
                            "error": .object(["code": .number(-32601), "message": .string("Method not found")])])
        }
    }
}
