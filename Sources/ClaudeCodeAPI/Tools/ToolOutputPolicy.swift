import FoundationEssentials

/// Holds a turn's events to what the request asked: which tool calls are returned (`tool_choice`,
/// `parallel_tool_calls`, only offered tools), strict arguments checked against their schema, and the answer's
/// format (`response_format`). It sits between the translator and the encoder, the same for every API surface.
///
/// - `none`: calls are dropped; the turn ends with the text before them.
/// - `required` / a named function: text is held back until a call starts; a turn without a (matching) call fails
///   with `invalid_model_output` instead of passing text off as the answer.
/// - `parallel_tool_calls: false`: only the first call is returned.
/// - strict tools: a call's events wait until the turn ends, when its arguments are validated; a violation fails.
/// - `json_object`: the text must parse as one JSON object. `json_schema`: the structured-output tool's arguments are
///   the answer's text, validated against the schema (or, if the model wrote the JSON as text, that text).
struct ToolOutputPolicy {
    private let tools: TurnTools
    private let offered: [String: ClientTool]
    /// Calls of the model, by its index: where each one goes.
    private enum Route { case returned(Int), dropped, structured, heldStrict(Int) }
    private var routes: [Int: Route] = [:]
    private var returnedCount = 0
    private var heldText: [TurnEvent] = []
    private var heldStrict: [Int: [TurnEvent]] = [:]
    private var strictArguments: [Int: (name: String, arguments: String)] = [:]
    private var answerText = ""
    private var structuredArguments: String?
    private var sawStructuredCall = false

    init(_ tools: TurnTools) {
        self.tools = tools
        offered = Dictionary(tools.offered.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private var mustCall: Bool {
        switch tools.choice {
        case .required, .function: true
        case .auto, .none: false
        }
    }

    /// Whether the answer's text is validated at the end (as JSON, or against a schema).
    private var checksAnswerText: Bool {
        schemaAnswer != nil || tools.outputFormat == .jsonObject
    }

    private var schemaAnswer: (name: String, schema: JSONValue)? {
        if case .jsonSchema(let name, let schema, _) = tools.outputFormat { return (name, schema) }
        return nil
    }

    mutating func filter(_ event: TurnEvent) -> [TurnEvent] {
        switch event {
        case .text(let text):
            if checksAnswerText { answerText += text }  // the turn's text is kept only when it is to be checked
            if schemaAnswer != nil { return [] }  // only the structured answer is the answer
            if mustCall && returnedCount == 0 { heldText.append(event); return [] }
            return [event]
        case .started, .reasoning, .failed:
            return [event]
        case .toolCallStarted(let index, let id, let name):
            return started(index, id, name)
        case .toolCallArguments(let index, let fragment):
            switch routes[index] {
            case .returned(let out)?: return [.toolCallArguments(index: out, fragment: fragment)]
            case .heldStrict(let out)?:
                heldStrict[out, default: []].append(.toolCallArguments(index: out, fragment: fragment))
                strictArguments[out]?.arguments += fragment
                return []
            case .structured?:
                structuredArguments = (structuredArguments ?? "") + fragment
                return [.text(fragment)]
            case .dropped?, nil: return []
            }
        case .finished(let completion):
            return finished(completion)
        }
    }

    private mutating func started(_ index: Int, _ id: String, _ name: String) -> [TurnEvent] {
        if schemaAnswer != nil && name == TurnTools.structuredOutputToolName && !sawStructuredCall {
            sawStructuredCall = true
            structuredArguments = ""
            routes[index] = .structured
            return []
        }
        let allowed: Bool = switch tools.choice {
        case .none: false
        case .function(let wanted): name == wanted
        case .auto, .required: true
        }
        guard allowed, let tool = offered[name], tools.parallelCalls || returnedCount == 0 else {
            routes[index] = .dropped
            return []
        }
        let out = returnedCount
        returnedCount += 1
        var events = heldText
        heldText = []
        if tool.strict {
            routes[index] = .heldStrict(out)
            heldStrict[out] = [.toolCallStarted(index: out, id: id, name: name)]
            strictArguments[out] = (name, "")
        } else {
            routes[index] = .returned(out)
            events.append(.toolCallStarted(index: out, id: id, name: name))
        }
        return events
    }

    private mutating func finished(_ completion: TurnCompletion) -> [TurnEvent] {
        // The calls that are returned, renumbered in the order they started.
        var calls: [TurnToolCall] = []
        for (index, call) in completion.toolCalls.enumerated() {
            switch routes[index] {
            case .returned?, .heldStrict?: calls.append(call)
            default: break
            }
        }
        var events: [TurnEvent] = []
        for out in heldStrict.keys.sorted() {
            guard let (name, arguments) = strictArguments[out], let schema = offered[name]?.inputSchema else { continue }
            if let problem = Self.violation(of: arguments, against: schema) {
                return [.failed(.invalidModelOutput("The model's arguments for '\(name)' do not match its strict schema (\(problem))."))]
            }
            events += heldStrict[out] ?? []
        }
        var result = completion
        result.toolCalls = calls
        if calls.isEmpty && completion.stopReason == .toolUse { result.stopReason = .endTurn }

        if let (name, schema) = schemaAnswer, calls.isEmpty {
            var json = structuredArguments
            if json == nil {
                // The model wrote the JSON as text instead of calling the tool: that is the answer if it fits.
                json = answerText.trimmingWhitespace()
                events.append(.text(json!))
            }
            if let problem = Self.violation(of: json ?? "", against: schema) {
                return events + [.failed(.invalidModelOutput("The model's answer does not match the JSON schema '\(name)' (\(problem))."))]
            }
            result.stopReason = completion.stopReason == .toolUse ? .endTurn : completion.stopReason
        }
        if tools.outputFormat == .jsonObject && calls.isEmpty {
            let parsed = try? JSONValue.parse(Array(answerText.trimmingWhitespace().utf8))
            guard case .object? = parsed else {
                return events + [.failed(.invalidModelOutput("The model's answer is not a JSON object, as response_format json_object requires."))]
            }
        }
        if mustCall && calls.isEmpty {
            let wanted: String = if case .function(let name) = tools.choice { "the tool '\(name)'" } else { "a tool" }
            return events + [.failed(.invalidModelOutput("The model answered without calling \(wanted), which tool_choice requires."))]
        }
        return events + [.finished(result)]
    }

    /// Why `arguments` (JSON text) does not fit `schema`, or nil when it does.
    static func violation(of arguments: String, against schema: JSONValue) -> String? {
        guard let value = try? JSONValue.parse(Array(arguments.utf8)) else { return "not valid JSON" }
        do { try JSONSchemaValidator(schema: schema).validate(value) } catch { return error.description }
        return nil
    }
}
