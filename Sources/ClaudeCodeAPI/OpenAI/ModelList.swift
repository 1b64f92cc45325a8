/// `GET /v1/models`: `{"object":"list","data":[...]}`.
public struct ModelList: Encodable, Sendable {
    public struct Model: Encodable, Sendable {
        public var id: String
        public var object = "model"
        public var created: Int
        public var ownedBy: String
    }

    public var object = "list"
    public var data: [Model]
}
