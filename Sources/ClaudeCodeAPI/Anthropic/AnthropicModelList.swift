/// `GET /v1/models` in Anthropic's list shape, for clients that send `anthropic-version`.
struct AnthropicModelList: Encodable {
    struct Model: Encodable {
        var type = "model"
        var id: String
        var displayName: String
        /// RFC 3339.
        var createdAt: String
    }

    var data: [Model]
    var hasMore = false
    var firstId: String?
    var lastId: String?
}
