import Foundation

/// One visit's checklist, findings and evidence.
@MainActor
final class VisitModel: ObservableObject {
    @Published private(set) var visit: Visit?
    @Published private(set) var items: [TemplateItem] = []
    @Published private(set) var conflicted: Set<String> = []
    @Published var error: String?

    let id: String
    private let store: SiteproofStore

    init(id: String, store: SiteproofStore) {
        self.id = id
        self.store = store
    }

    func load() async {
        let id = self.id, store = self.store
        do {
            let (visit, template, conflicts) = try await io { () -> (Visit, Template, [AnswerConflict]) in
                let visit = try store.visit(id: id)
                let template = try store.template(id: visit.template.id, version: visit.template.version)
                return (visit, template, try store.conflicts(visit: id))
            }
            self.visit = visit
            self.items = template.items
            self.conflicted = Set(conflicts.map(\.item))
        } catch {
            self.error = error.localizedDescription
        }
    }

    func answer(_ item: String) -> Answer? { visit?.answers[item] }

    /// A failed item whose criterion asks for evidence, with none attached yet.
    func needsEvidence(_ item: TemplateItem) -> Bool {
        guard let answer = answer(item.id) else { return false }
        return item.evidenceRequired && answer.value == AnswerValue.fail && answer.media.isEmpty
    }

    func set(_ item: String, _ value: AnswerValue, note: String? = nil) async {
        let current = answer(item)
        let input = AnswerInput(value: value, note: note ?? current?.note, media: current?.media ?? [])
        await change { store, id in try store.answerItem(visit: id, item: item, answer: input) }
    }

    func addFinding(_ description: String, severity: Severity, fixedOnSpot: Bool, measures: String?) async {
        let finding = NewFinding(
            description: description, severity: severity, item: nil, location: nil,
            media: [], fixedOnSpot: fixedOnSpot, interimMeasures: measures
        )
        await change { store, id in _ = try store.addFinding(visit: id, finding: finding) }
    }

    /// Takes a JPEG the camera wrote into the store, cites it in `item`'s answer if given,
    /// and deletes the camera's file.
    func attachPhoto(at file: URL, item: String?) async {
        let current = item.flatMap(answer)
        await change { store, id in
            let capture = MediaCapture(kind: MediaKind.photo, mime: "image/jpeg", capturedAt: nil, location: nil, posterPath: nil)
            let ref = try store.addEvidence(visit: id, sourcePath: file.path, capture: capture)
            try? FileManager.default.removeItem(at: file)
            if let item {
                let input = AnswerInput(value: current?.value ?? AnswerValue.fail, note: current?.note, media: (current?.media ?? []) + [ref.hash])
                try store.answerItem(visit: id, item: item, answer: input)
            }
        }
    }

    func finish() async {
        await change { store, id in try store.finishVisit(visit: id) }
    }

    /// The thumbnail's JPEG bytes (decrypted by the store; the file on disk is encrypted).
    func thumbnail(_ hash: String) async -> Data? {
        let store = self.store
        return (try? await io { try store.thumbnailBytes(hash: hash) }) ?? nil
    }

    private func change(_ work: @escaping (SiteproofStore, String) throws -> Void) async {
        let id = self.id, store = self.store
        do {
            try await io { try work(store, id) }
            await load()
        } catch {
            self.error = error.localizedDescription
        }
    }
}
