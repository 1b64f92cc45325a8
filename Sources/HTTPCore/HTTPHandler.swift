/// What a transport serves: it hands over each request with its body and a writer, and knows nothing else of the
/// application. `handle` must complete the response (or leave it to the transport to end).
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest, body: any RequestBodyReader, writer: any ResponseWriter)
}
