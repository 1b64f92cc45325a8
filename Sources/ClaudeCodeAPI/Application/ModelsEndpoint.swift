import Foundation

/// `GET /v1/models` and `GET /v1/models/{id}`: the model names the service accepts, in OpenAI's list shape.
struct ModelsEndpoint: Sendable {
    let models: ModelCatalog
    let startedAt: Date

    func register(in router: inout Router, errorFormat: any ErrorFormat) {
        router.add([.get], ["/v1/models", "/models"], errorFormat: errorFormat) { context in
            context.respond(json: ModelList(data: entries()))
        }
        router.add([.get], ["/v1/models/{id}", "/models/{id}"], errorFormat: errorFormat) { context in
            let id = context.parameters["id"] ?? ""
            guard let model = entries().first(where: { $0.id == id }) else { return context.fail(.modelNotFound(id)) }
            return context.respond(json: model)
        }
    }

    private func entries() -> [ModelList.Model] {
        let created = Int(startedAt.timeIntervalSince1970)
        return models.acceptedNames.map { ModelList.Model(id: $0, created: created, ownedBy: "anthropic") }
    }
}
