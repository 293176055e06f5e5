import SwiftUI

/// The visit list, the sync line, and the way into enrollment and a new covert visit.
struct VisitListView: View {
    @EnvironmentObject private var model: AppModel
    @State private var starting = false
    @State private var enrolling = false
    @State private var merging = false

    var body: some View {
        NavigationStack {
            List {
                Section {
                    SyncLine()
                }
                Section("Visits") {
                    ForEach(model.visits, id: \.id) { visit in
                        NavigationLink(value: visit.id) { VisitRow(visit: visit) }
                    }
                }
            }
            .navigationTitle("Visits")
            .navigationDestination(for: String.self) { id in
                if let store = model.store {
                    ChecklistView(visit: id, store: store)
                }
            }
            .toolbar {
                ToolbarItem(placement: .navigationBarLeading) { Button("Enroll") { enrolling = true } }
                ToolbarItem(placement: .secondaryAction) { Button("Merge with a teammate") { merging = true } }
                ToolbarItem(placement: .primaryAction) { Button("Covert visit") { starting = true } }
            }
            .refreshable { await model.syncNow() }
            .sheet(isPresented: $starting) { StartVisitSheet() }
            .sheet(isPresented: $enrolling) { EnrollSheet() }
            .sheet(isPresented: $merging) { MergeSheet() }
            .alert(model.error ?? "", isPresented: Binding(get: { model.error != nil }, set: { if !$0 { model.error = nil } })) {
                Button("OK") { model.error = nil }
            }
        }
    }
}

private struct VisitRow: View {
    let visit: VisitSummary

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text(visit.siteName).font(.headline)
            Text((visit.mode == VisitMode.covert ? "暗访 covert" : "明查 announced") + (visit.endedAt == nil ? " · in progress" : " · finished"))
                .font(.caption)
            HStack {
                Text("\(visit.answered) answered")
                Text("\(visit.majorFindings) major").foregroundColor(.red)
                Text("\(visit.generalFindings) general")
                if visit.conflicts > 0 { Text("\(visit.conflicts) conflicts").foregroundColor(.orange) }
            }
            .font(.caption)
        }
    }
}

private struct SyncLine: View {
    @EnvironmentObject private var model: AppModel

    var body: some View {
        HStack {
            VStack(alignment: .leading) {
                Text(status).font(.subheadline)
                Text("\(model.pendingChanges) changes, \(model.pendingUploads) files waiting").font(.caption)
                if let fraction = model.uploadFraction { ProgressView(value: fraction) }
            }
            Spacer()
            Button("Sync") { Task { await model.syncNow() } }
                .disabled(model.sync == .syncing)
        }
    }

    private var status: String {
        switch model.sync {
        case .idle: return "Not synced yet"
        case .syncing: return "Syncing…"
        case let .synced(sent, received): return "Synced: \(sent) sent, \(received) received"
        case .offline: return "Offline — everything is saved on this phone"
        case .needsEnrollment: return "Enroll this phone to sync"
        case let .failed(reason): return "Sync refused: \(reason)"
        }
    }
}

private struct StartVisitSheet: View {
    @EnvironmentObject private var model: AppModel
    @Environment(\.dismiss) private var dismiss
    @State private var site = ""
    @State private var address = ""
    @State private var template: TemplateSummary?

    var body: some View {
        NavigationStack {
            Form {
                TextField("Site", text: $site)
                TextField("Address", text: $address)
                if model.templates.isEmpty { Text("No checklists yet: enroll and sync first.") }
                Picker("Checklist", selection: $template) {
                    ForEach(model.templates, id: \.self) { t in
                        Text(t.titleZh).tag(Optional(t))
                    }
                }
            }
            .navigationTitle("Covert visit")
            .toolbar {
                ToolbarItem(placement: .cancellationAction) { Button("Cancel") { dismiss() } }
                ToolbarItem(placement: .confirmationAction) {
                    Button("Start") {
                        guard let template else { return }
                        Task {
                            _ = await model.startCovertVisit(site: site, address: address, template: template)
                            dismiss()
                        }
                    }
                    .disabled(site.trimmingCharacters(in: .whitespaces).isEmpty || template == nil)
                }
            }
        }
    }
}

private struct EnrollSheet: View {
    @EnvironmentObject private var model: AppModel
    @Environment(\.dismiss) private var dismiss
    @State private var server = "http://localhost:8080"
    @State private var code = ""
    @State private var busy = false

    var body: some View {
        NavigationStack {
            Form {
                TextField("Server", text: $server).textInputAutocapitalization(.never).keyboardType(.URL)
                TextField("Enrollment code", text: $code).textInputAutocapitalization(.characters)
            }
            .navigationTitle("Enroll")
            .toolbar {
                ToolbarItem(placement: .cancellationAction) { Button("Cancel") { dismiss() } }
                ToolbarItem(placement: .confirmationAction) {
                    Button(busy ? "Enrolling…" : "Enroll") {
                        busy = true
                        Task {
                            if await model.enroll(server: server, code: code) { dismiss() }
                            busy = false
                        }
                    }
                    .disabled(busy || code.isEmpty)
                }
            }
        }
    }
}
