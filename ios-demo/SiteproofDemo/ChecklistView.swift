import SwiftUI

/// The checklist of one visit: pass / fail / N/A per item, a note, photos as evidence.
struct ChecklistView: View {
    @StateObject private var model: VisitModel
    @EnvironmentObject private var app: AppModel
    @State private var cameraFor: CameraTarget?

    init(visit: String, store: SiteproofStore) {
        _model = StateObject(wrappedValue: VisitModel(id: visit, store: store))
    }

    var body: some View {
        List {
            ForEach(model.items, id: \.id) { item in
                ItemRow(item: item, model: model, onPhoto: { cameraFor = CameraTarget(item: item.id) })
            }
            if model.visit?.endedAt == nil {
                Button("Finish visit") { Task { await model.finish(); await app.refresh() } }
            }
        }
        .navigationTitle(model.visit?.site.name ?? "")
        .toolbar {
            ToolbarItem(placement: .primaryAction) {
                NavigationLink("Findings (\(model.visit?.findings.count ?? 0))") { FindingsView(model: model) }
            }
            ToolbarItem(placement: .bottomBar) { Button("Camera") { cameraFor = CameraTarget(item: nil) } }
        }
        .task { await model.load() }
        .fullScreenCover(item: $cameraFor) { target in
            CameraView { file in
                cameraFor = nil
                if let file { Task { await model.attachPhoto(at: file, item: target.item); await app.refresh() } }
            }
        }
        .alert(model.error ?? "", isPresented: Binding(get: { model.error != nil }, set: { if !$0 { model.error = nil } })) {
            Button("OK") { model.error = nil }
        }
    }
}

/// What a photo is for: one item, or the visit as a whole.
struct CameraTarget: Identifiable {
    let id = UUID()
    let item: String?
}

private struct ItemRow: View {
    let item: TemplateItem
    @ObservedObject var model: VisitModel
    let onPhoto: () -> Void
    @State private var note = ""

    var body: some View {
        let answer = model.answer(item.id)
        VStack(alignment: .leading, spacing: 6) {
            Text(item.text.zh)
            Text("\(item.criterion.document) \(item.criterion.clause)").font(.caption).foregroundColor(.secondary)
            if model.conflicted.contains(item.id) {
                Text("Answered differently on another phone: answer again to settle it.").font(.caption).foregroundColor(.orange)
            }
            HStack {
                choice("Pass", AnswerValue.pass, answer)
                choice("Fail", AnswerValue.fail, answer)
                choice("N/A", AnswerValue.notApplicable, answer)
                Spacer()
                Button("Photo (\(answer?.media.count ?? 0))", action: onPhoto).buttonStyle(.borderless)
            }
            if model.needsEvidence(item) {
                Text("This criterion needs photo or video evidence.").font(.caption).foregroundColor(.red)
            }
            if let answer {
                TextField("Note", text: $note)
                    .onSubmit { Task { await model.set(item.id, answer.value, note: note) } }
                    .onAppear { note = answer.note ?? "" }
            }
        }
    }

    private func choice(_ title: String, _ value: AnswerValue, _ answer: Answer?) -> some View {
        Button(title) { Task { await model.set(item.id, value) } }
            .buttonStyle(.bordered)
            .tint(answer?.value == value ? Color.accentColor : Color.gray)
    }
}
