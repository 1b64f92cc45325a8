import FoundationEssentials

/// Checks a JSON value against a JSON Schema, for the subset that function calling and structured output use:
/// `type` (one or several), `properties`, `required`, `additionalProperties` (boolean or schema), `items`,
/// `enum`, `const`, `anyOf`, `oneOf`, `allOf`, `minLength`/`maxLength`, `minimum`/`maximum`/`exclusiveMinimum`/
/// `exclusiveMaximum`, `minItems`/`maxItems`, and local `$ref`s (`#/$defs/...`, `#/definitions/...`).
/// Keywords outside the subset are ignored (documented in the README), never guessed at.
public struct JSONSchemaValidator: Sendable {
    public struct Violation: Error, Equatable, Sendable, CustomStringConvertible {
        /// Where in the value, as a JSON pointer (`/items/0/name`).
        public var path: String
        public var message: String
        public var description: String { "\(path.isEmpty ? "/" : path): \(message)" }
    }

    let root: JSONValue

    public init(schema: JSONValue) {
        root = schema
    }

    public func validate(_ value: JSONValue) throws(Violation) {
        try check(value, against: root, at: "", depth: 0)
    }

    private func check(_ value: JSONValue, against schema: JSONValue, at path: String, depth: Int) throws(Violation) {
        guard depth < 64 else { throw Violation(path: path, message: "the schema nests too deeply") }
        guard case .object(let keywords) = schema else {
            if schema == .bool(false) { throw Violation(path: path, message: "no value is allowed here") }
            return  // `true` or anything else: no constraint
        }
        if let reference = keywords["$ref"]?.stringValue {
            guard let target = resolve(reference) else { throw Violation(path: path, message: "unknown $ref \(reference)") }
            try check(value, against: target, at: path, depth: depth + 1)
        }
        if let types = keywords["type"] {
            let allowed: [String] = switch types {
            case .string(let one): [one]
            case .array(let many): many.compactMap(\.stringValue)
            default: []
            }
            if !allowed.isEmpty && !allowed.contains(where: { Self.value(value, hasType: $0) }) {
                throw Violation(path: path, message: "expected \(allowed.joined(separator: " or ")), got \(value.typeName)")
            }
        }
        if case .array(let options)? = keywords["enum"], !options.contains(where: { Self.equal($0, value) }) {
            throw Violation(path: path, message: "not one of the allowed values")
        }
        if let constant = keywords["const"], !Self.equal(constant, value) {
            throw Violation(path: path, message: "not the required constant")
        }
        if case .array(let all)? = keywords["allOf"] {
            for part in all { try check(value, against: part, at: path, depth: depth + 1) }
        }
        if case .array(let any)? = keywords["anyOf"] {
            guard any.contains(where: { matches(value, $0, path, depth) }) else {
                throw Violation(path: path, message: "matches none of anyOf")
            }
        }
        if case .array(let one)? = keywords["oneOf"] {
            let count = one.filter { matches(value, $0, path, depth) }.count
            guard count == 1 else { throw Violation(path: path, message: "matches \(count) of oneOf, not exactly one") }
        }
        switch value {
        case .object(let fields): try checkObject(fields, keywords, path, depth)
        case .array(let items): try checkArray(items, keywords, path, depth)
        case .string(let text):
            let length = text.count
            if let minimum = keywords["minLength"]?.integerValue, length < minimum { throw Violation(path: path, message: "shorter than \(minimum)") }
            if let maximum = keywords["maxLength"]?.integerValue, length > maximum { throw Violation(path: path, message: "longer than \(maximum)") }
        case .number(let number):
            if case .number(let minimum)? = keywords["minimum"], number < minimum { throw Violation(path: path, message: "below \(minimum)") }
            if case .number(let maximum)? = keywords["maximum"], number > maximum { throw Violation(path: path, message: "above \(maximum)") }
            if case .number(let bound)? = keywords["exclusiveMinimum"], number <= bound { throw Violation(path: path, message: "not above \(bound)") }
            if case .number(let bound)? = keywords["exclusiveMaximum"], number >= bound { throw Violation(path: path, message: "not below \(bound)") }
        case .null, .bool: break
        }
    }

    private func checkObject(_ fields: [String: JSONValue], _ keywords: [String: JSONValue], _ path: String, _ depth: Int) throws(Violation) {
        if case .array(let required)? = keywords["required"] {
            for name in required.compactMap(\.stringValue) where fields[name] == nil {
                throw Violation(path: path, message: "missing required property '\(name)'")
            }
        }
        let properties: [String: JSONValue]
        if case .object(let declared)? = keywords["properties"] { properties = declared } else { properties = [:] }
        for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
            let fieldPath = path + "/" + name
            if let schema = properties[name] {
                try check(field, against: schema, at: fieldPath, depth: depth + 1)
            } else if let additional = keywords["additionalProperties"] {
                if additional == .bool(false) { throw Violation(path: fieldPath, message: "property not allowed") }
                try check(field, against: additional, at: fieldPath, depth: depth + 1)
            }
        }
    }

    private func checkArray(_ items: [JSONValue], _ keywords: [String: JSONValue], _ path: String, _ depth: Int) throws(Violation) {
        if let minimum = keywords["minItems"]?.integerValue, items.count < minimum { throw Violation(path: path, message: "fewer than \(minimum) items") }
        if let maximum = keywords["maxItems"]?.integerValue, items.count > maximum { throw Violation(path: path, message: "more than \(maximum) items") }
        if let schema = keywords["items"] {
            for (index, item) in items.enumerated() { try check(item, against: schema, at: "\(path)/\(index)", depth: depth + 1) }
        }
    }

    private func matches(_ value: JSONValue, _ schema: JSONValue, _ path: String, _ depth: Int) -> Bool {
        do { try check(value, against: schema, at: path, depth: depth + 1); return true } catch { return false }
    }

    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for part in reference.dropFirst().split(separator: "/") {
            let key = String(part).replacing("~1", with: "/").replacing("~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    static func value(_ value: JSONValue, hasType type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number): true
        case ("integer", .number(let n)): n == n.rounded() && abs(n) < 9.007e15
        default: false
        }
    }

    /// JSON equality, with 1 and 1.0 the same number.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool { a == b }
}

extension JSONValue {
    var integerValue: Int? {
        if case .number(let n) = self, n == n.rounded(), abs(n) < 1e15 { return Int(n) }
        return nil
    }
}
