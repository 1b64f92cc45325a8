import Foundation

/// Request ids for requests that arrive without nginx's `$request_id`.
public enum RequestID {
    public static func make() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}
