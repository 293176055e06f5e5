import Network
import SwiftUI

/// What the merge sheet shows (the same states as the Android demo's `MergeState`).
enum MergeState: Equatable {
    case idle
    case merging(bytes: UInt64)
    case merged(received: UInt64, sent: UInt64)
    case failed(String, refused: Bool)
}

/// "Merge with a teammate": one phone waits on its hotspot, the other connects to it, and the
/// FFI `PeerSession` runs over the TCP connection; both then hold every visit of the group.
/// The loop is the one `TeammateMerge` runs on Android (JVM-tested there).
struct MergeSheet: View {
    @EnvironmentObject private var model: AppModel
    @Environment(\.dismiss) private var dismiss
    @State private var address = "172.20.10.1"
    @State private var state = MergeState.idle
    /// Originals can be hours of footage: off by default; thumbnails always come.
    @State private var fetchOriginals = false

    var body: some View {
        NavigationStack {
            Form {
                Section("Teammate") {
                    Toggle("Also fetch the teammate's original photos and videos", isOn: $fetchOriginals)
                    Button("Wait for teammate") { start(initiator: false) }
                    TextField("Teammate's address", text: $address)
                        .keyboardType(.numbersAndPunctuation)
                    Button("Connect") { start(initiator: true) }
                }
                Section {
                    switch state {
                    case .idle: Text("Both phones must be enrolled in the same group.")
                    case .merging(let bytes): Text("Merging… \(bytes / 1024) KB")
                    case .merged(let received, let sent): Text("Merged: \(received) received, \(sent) sent")
                    case .failed(let reason, let refused):
                        Text(refused ? "Refused: not a current member of your group." : "Failed: \(reason)")
                            .foregroundStyle(.red)
                    }
                }
            }
            .navigationTitle("Merge with a teammate")
            .toolbar { ToolbarItem(placement: .cancellationAction) { Button("Done") { dismiss() } } }
        }
    }

    private func start(initiator: Bool) {
        guard let store = model.store else { return }
        let address = address
        let allOriginals = fetchOriginals
        state = .merging(bytes: 0)
        Task {
            let outcome: MergeState
            do {
                let link = try await io { try PeerLink.open(initiator: initiator, host: address, port: 7420) }
                outcome = try await io { try runSession(store: store, link: link, initiator: initiator, allOriginals: allOriginals) }
            } catch let error as ApiError {
                if case .Unauthorized = error {
                    outcome = .failed(error.localizedDescription, refused: true)
                } else {
                    outcome = .failed(error.localizedDescription, refused: false)
                }
            } catch {
                outcome = .failed(error.localizedDescription, refused: false)
            }
            state = outcome
            await model.refresh()
        }
    }
}

/// Sends `takeOutput()`, feeds what arrives, until the session is finished.
private func runSession(store: SiteproofStore, link: PeerLink, initiator: Bool, allOriginals: Bool) throws -> MergeState {
    defer { link.close() }
    let session = try PeerSession.withMedia(store: store, initiator: initiator, allOriginals: allOriginals, originals: [])
    while true {
        let out = session.takeOutput()
        if !out.isEmpty { link.send(out) }
        if session.isFinished() {
            let s = session.summary()
            return .merged(received: s.recordsReceived, sent: s.recordsSent)
        }
        guard let bytes = link.receive(timeout: 30) else {
            return .failed("the teammate went silent or left", refused: false)
        }
        try session.feed(bytes: bytes)
    }
}

/// A blocking TCP link over `NWConnection`, for the session loop above.
private final class PeerLink {
    private let connection: NWConnection
    private let queue = DispatchQueue(label: "peer-link")

    private init(_ connection: NWConnection) {
        self.connection = connection
        connection.start(queue: queue)
    }

    static func open(initiator: Bool, host: String, port: UInt16) throws -> PeerLink {
        guard let nwPort = NWEndpoint.Port(rawValue: port) else { throw URLError(.badURL) }
        if initiator {
            return PeerLink(NWConnection(host: NWEndpoint.Host(host), port: nwPort, using: .tcp))
        }
        let listener = try NWListener(using: .tcp, on: nwPort)
        let accepted = DispatchSemaphore(value: 0)
        var connection: NWConnection?
        listener.newConnectionHandler = { c in
            connection = c
            listener.cancel()
            accepted.signal()
        }
        listener.start(queue: .global())
        accepted.wait()
        guard let connection else { throw URLError(.cannotConnectToHost) }
        return PeerLink(connection)
    }

    func send(_ bytes: Data) {
        connection.send(content: bytes, completion: .contentProcessed { _ in })
    }

    func receive(timeout: TimeInterval) -> Data? {
        let done = DispatchSemaphore(value: 0)
        var received: Data?
        connection.receive(minimumIncompleteLength: 1, maximumLength: 64 * 1024) { data, _, _, _ in
            received = data
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return received
    }

    func close() {
        connection.cancel()
    }
}
