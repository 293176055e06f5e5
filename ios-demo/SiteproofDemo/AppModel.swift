import Foundation
import UIKit

/// Runs a blocking store call off the main thread. Every SiteproofStore method blocks (disk
/// or network I/O); the UI awaits the result instead.
func io<T>(_ work: @escaping () throws -> T) async throws -> T {
    try await Task.detached(priority: .userInitiated) { try work() }.value
}

/// What the sync line shows.
enum SyncState: Equatable {
    case idle, syncing, offline, needsEnrollment
    case synced(sent: UInt64, received: UInt64)
    case failed(String)

    static func of(_ error: Error) -> SyncState {
        guard let api = error as? ApiError else { return .failed(error.localizedDescription) }
        switch api {
        case .Network: return .offline
        case .Unauthorized, .NotFound: return .needsEnrollment
        default: return .failed(api.localizedDescription)
        }
    }
}

/// The app's state: the store, the visit list, sync and upload status.
@MainActor
final class AppModel: ObservableObject {
    @Published private(set) var isOpen = false
    @Published private(set) var visits: [VisitSummary] = []
    @Published private(set) var templates: [TemplateSummary] = []
    @Published private(set) var sync: SyncState = .idle
    @Published private(set) var pendingChanges: UInt64 = 0
    @Published private(set) var pendingUploads = 0
    @Published private(set) var uploadFraction: Double?
    @Published var error: String?

    private(set) var store: SiteproofStore?
    private var uploads: BackgroundUploads?
    private var foregroundUpload: Task<Void, Never>?
    private var cancelUpload: CancelToken?
    private let paths = NetworkPath()

    /// A covert visit is under way: no sound, no notification.
    var covertInProgress: Bool {
        visits.contains { $0.mode == VisitMode.covert && $0.endedAt == nil }
    }

    /// Opens the store in Application Support (not backed up, protected until first unlock).
    func open() async {
        guard store == nil else { return }
        do {
            let store = try await io { () -> SiteproofStore in
                let fm = FileManager.default
                var dir = try fm.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
                    .appendingPathComponent("siteproof", isDirectory: true)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true,
                                       attributes: [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication])
                var values = URLResourceValues()
                values.isExcludedFromBackup = true
                try dir.setResourceValues(values)
                return try SiteproofStore.open(
                    dbPath: dir.appendingPathComponent("siteproof.db").path,
                    mediaDir: dir.appendingPathComponent("media").path,
                    key: try KeychainKey.loadOrCreate()
                )
            }
            self.store = store
            self.uploads = BackgroundUploads(store: store)
            isOpen = true
            await refresh()
        } catch {
            self.error = "The store could not be opened: \(error.localizedDescription)"
        }
    }

    func refresh() async {
        guard let store else { return }
        do {
            let (visits, templates, changes, uploads) = try await io {
                (try store.listVisits(), try store.listTemplates(), try store.outboxLen(), try store.pendingUploads().count)
            }
            self.visits = visits
            self.templates = templates
            self.pendingChanges = changes
            self.pendingUploads = uploads
        } catch {
            self.error = error.localizedDescription
        }
    }

    func enroll(server: String, code: String) async -> Bool {
        guard let store else { return false }
        do {
            _ = try await io { try store.enroll(serverUrl: server, code: code, deviceName: UIDevice.current.name) }
            await syncNow()
            return true
        } catch {
            self.error = "Enrollment failed: \(error.localizedDescription)"
            return false
        }
    }

    /// Starts a covert visit with the chosen checklist; returns its id.
    func startCovertVisit(site: String, address: String, template: TemplateSummary) async -> String? {
        guard let store else { return nil }
        let visit = NewVisit(
            site: Site(name: site, creditCode: nil, address: address, sector: template.sector),
            mode: VisitMode.covert,
            team: [],
            template: TemplateRef(id: template.id, version: template.version),
            assignment: nil,
            location: nil
        )
        do {
            let id = try await io { try store.createVisit(visit: visit) }
            await refresh()
            return id
        } catch {
            self.error = error.localizedDescription
            return nil
        }
    }

    func syncNow() async {
        guard let store else { return }
        sync = .syncing
        do {
            let summary = try await io { try store.sync() }
            sync = .synced(sent: summary.pushed, received: summary.pulled)
        } catch {
            sync = SyncState.of(error)
        }
        await refresh()
    }

    /// In the foreground the core's uploader runs, with progress; it stops at the next chunk
    /// when the app leaves, and the rest goes to the background session.
    func enterForeground() {
        guard let store, let uploads, foregroundUpload == nil else { return }
        let cancel = CancelToken()
        let network = paths.current
        cancelUpload = cancel
        foregroundUpload = Task {
            await syncNow()
            // Files the system is still sending are left to it.
            guard await uploads.idle() else { return }
            let progress = ProgressRelay { [weak self] fraction in
                Task { @MainActor in self?.uploadFraction = fraction }
            }
            _ = try? await io { try store.uploadPending(network: network, progress: progress, cancel: cancel) }
            uploadFraction = nil
            foregroundUpload = nil
            await refresh()
        }
    }

    /// Leaving the foreground: stop the core's uploader and hand what is left to the system.
    func enterBackground() {
        cancelUpload?.cancel()
        foregroundUpload = nil
        guard let store, let uploads else { return }
        let application = UIApplication.shared
        var background = UIBackgroundTaskIdentifier.invalid
        background = application.beginBackgroundTask { application.endBackgroundTask(background) }
        Task {
            _ = try? await io { try store.sync() }
            try? await io { try uploads.handOff() }
            try? await io { store.clearCache() }
            application.endBackgroundTask(background)
        }
    }
}

/// Progress from the core's uploader (on the uploading thread), as one fraction per file.
final class ProgressRelay: UploadProgress {
    private let report: @Sendable (Double) -> Void

    init(report: @escaping @Sendable (Double) -> Void) {
        self.report = report
    }

    func onProgress(hash: String, done: UInt64, total: UInt64) {
        report(total == 0 ? 1 : Double(done) / Double(total))
    }
}
