/// A configuration variable with a value the service cannot use.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var variable: String
    public var message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "\(variable): \(message)" }
}
