import FoundationEssentials

/// `GET /v1/models` and `GET /v1/models/{id}`: the model names the service accepts, in OpenAI's list shape, or in
/// Anthropic's when the request carries `anthropic-version` (the `anthropic` client's `models.list()`).
struct ModelsEndpoint: Sendable {
    let models: ModelCatalog
    let startedAt: Date

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.get], ["/v1/models", "/models"], errorFormat: errorFormat) { context in
            guard Self.isAnthropic(context) else { return context.respond(json: ModelList(data: entries())) }
            let models = anthropicEntries()
            return context.respond(json: AnthropicModelList(data: models, firstId: models.first?.id, lastId: models.last?.id))
        }
        router.add([.get], ["/v1/models/{id}", "/models/{id}"], errorFormat: errorFormat) { context in
            let id = context.parameters["id"] ?? ""
            if Self.isAnthropic(context) {
                let anthropic = RequestContext(request: context.request, body: context.body, writer: context.writer,
                                               parameters: context.parameters, errorFormat: AnthropicErrorFormat())
                guard let model = anthropicEntries().first(where: { $0.id == id }) else { return anthropic.fail(.modelNotFound(id)) }
                return anthropic.respond(json: model)
            }
            guard let model = entries().first(where: { $0.id == id }) else { return context.fail(.modelNotFound(id)) }
            return context.respond(json: model)
        }
    }

    private static func isAnthropic(_ context: RequestContext) -> Bool { context.request.headers["anthropic-version"] != nil }

    private func anthropicEntries() -> [AnthropicModelList.Model] {
        let created = UTCTimestamp.iso8601(startedAt)
        return models.acceptedNames.map { AnthropicModelList.Model(id: $0, displayName: $0, createdAt: created) }
    }

    private func entries() -> [ModelList.Model] {
        let created = Int(startedAt.timeIntervalSince1970)
        return models.acceptedNames.map { ModelList.Model(id: $0, created: created, ownedBy: "anthropic") }
    }
}
