import SwiftUI

/// The visit's findings (hazards), and a form to record one.
struct FindingsView: View {
    @ObservedObject var model: VisitModel
    @State private var description = ""
    @State private var measures = ""
    @State private var severity = Severity.general
    @State private var fixedOnSpot = false

    var body: some View {
        Form {
            Section("New finding") {
                TextField("What was found", text: $description, axis: .vertical)
                Picker("Severity", selection: $severity) {
                    Text("重大 major").tag(Severity.major)
                    Text("一般 general").tag(Severity.general)
                }
                .pickerStyle(.segmented)
                Toggle("Fixed on the spot (立行立改)", isOn: $fixedOnSpot)
                TextField("Interim measures (防控措施)", text: $measures)
                Button("Record finding") {
                    let text = description, interim = measures.isEmpty ? nil : measures
                    Task { await model.addFinding(text, severity: severity, fixedOnSpot: fixedOnSpot, measures: interim) }
                    description = ""
                    measures = ""
                    fixedOnSpot = false
                }
                .disabled(description.trimmingCharacters(in: .whitespaces).isEmpty)
            }
            Section("Findings") {
                ForEach(model.visit?.findings ?? [], id: \.id) { finding in
                    VStack(alignment: .leading) {
                        Text(finding.description).foregroundColor(finding.severity == Severity.major ? .red : .primary)
                        if let interim = finding.interimMeasures { Text("防控措施: \(interim)").font(.caption) }
                        Text("\(finding.by) · \(finding.media.count) evidence").font(.caption).foregroundColor(.secondary)
                    }
                }
            }
        }
        .navigationTitle("Findings")
    }
}
