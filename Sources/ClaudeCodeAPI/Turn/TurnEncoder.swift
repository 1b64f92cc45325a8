import HTTPCore

/// Renders a turn's `TurnEvent`s to the client in one API surface's wire format: streamed as they come, or collected
/// into one response. One encoder serves one response.
public protocol TurnEncoder {
    /// Sends (or keeps) one event. Throws when the client is gone.
    mutating func send(_ event: TurnEvent) throws(ClientDisconnected)
    /// Called while the CLI is silent; streaming encoders keep the connection alive.
    mutating func idle() throws(ClientDisconnected)
    /// Whether a terminal event (finished or failed) has been sent.
    var isComplete: Bool { get }
    /// Whether any byte of the response has gone out (a retry is only possible before).
    var hasSentAnything: Bool { get }
    /// The HTTP status the client got.
    var status: Int { get }
}
