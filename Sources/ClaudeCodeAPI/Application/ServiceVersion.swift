/// The service's own version, for `claude_code_api_build_info` and the status page.
public enum ServiceVersion {
    public static let current = "0.1.0"
}
