/// Field checks shared by every API surface's request validation: each failure is an `APIError` naming the field
/// (`param`), in OpenAI's wording where OpenAI has one.
protocol RequestValidating {}

extension RequestValidating {

    static func requiredString(_ fields: [String: JSONValue], _ key: String, path: String? = nil) throws(APIError) -> String {
        let param = path ?? key
        guard let value = fields[key], value != .null else { throw APIError.missingParameter(param) }
        guard case .string(let string) = value else {
            throw APIError.invalidType(param, expected: "a string", got: value.typeName)
        }
        guard !string.isEmpty else { throw APIError.invalidValue(param, "'\(param)' must not be empty.") }
        return string
    }

    static func optionalBool(_ fields: [String: JSONValue], _ key: String, path: String? = nil) throws(APIError) -> Bool? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .bool(let bool) = value else {
            throw APIError.invalidType(path ?? key, expected: "a boolean", got: value.typeName)
        }
        return bool
    }

    static func optionalInteger(_ fields: [String: JSONValue], _ key: String, minimum: Int) throws(APIError) -> Int? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e15 else {
            throw APIError.invalidType(key, expected: "an integer", got: value.typeName)
        }
        guard Int(number) >= minimum else {
            throw APIError.invalidValue(key, "Invalid '\(key)': integer below minimum value. Expected a value >= \(minimum), but got \(Int(number)) instead.")
        }
        return Int(number)
    }

    static func optionalNumber(_ fields: [String: JSONValue], _ key: String, in range: ClosedRange<Double>) throws(APIError) {
        guard let value = fields[key], value != .null else { return }
        guard case .number(let number) = value else {
            throw APIError.invalidType(key, expected: "a number", got: value.typeName)
        }
        guard range.contains(number) else {
            throw APIError.invalidValue(key, "Invalid '\(key)': \(number) is outside the range \(range.lowerBound) to \(range.upperBound).")
        }
    }

    static func validateThinking(_ value: JSONValue?) throws(APIError) -> Int?? {
        switch value {
        case nil, .null?: return .none
        case .object(let fields)?:
            switch fields["type"] {
            case .string("disabled")?: return .some(nil)
            case .string("enabled")?:
                guard case .number(let budget)? = fields["budget_tokens"], budget == budget.rounded(), budget >= 1024, budget < 1e7 else {
                    throw APIError.invalidValue("thinking.budget_tokens", "'thinking.budget_tokens' must be an integer of at least 1024.")
                }
                return .some(Int(budget))
            default:
                throw APIError.invalidValue("thinking.type", "'thinking.type' must be 'enabled' or 'disabled'.")
            }
        case let other?:
            throw APIError.invalidType("thinking", expected: "an object", got: other.typeName)
        }
    }

    static func checkedStop(_ stop: String, param: String) throws(APIError) -> String {
        let limit = StopSequenceMatcher.maximumSequenceBytes
        guard stop.utf8.count <= limit else {
            throw APIError.invalidValue(param, "Each stop sequence may be at most \(limit) bytes long; this one has \(stop.utf8.count).")
        }
        return stop
    }
}
