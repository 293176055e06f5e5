import SwiftUI
import UIKit

/// The app: one store, opened off the main thread at launch; uploads go to a background
/// URLSession when the app leaves the foreground.
@main
struct SiteproofDemoApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var delegate
    @StateObject private var model = AppModel()
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            Group {
                if model.isOpen {
                    VisitListView()
                } else if let error = model.error {
                    Text(error).padding()
                } else {
                    ProgressView()
                }
            }
            .environmentObject(model)
            .task { await model.open() }
        }
        .onChange(of: scenePhase) { phase in
            switch phase {
            case .background: model.enterBackground()
            case .active: model.enterForeground()
            default: break
            }
        }
    }
}

/// Receives the system's wake-up for finished background uploads.
final class AppDelegate: NSObject, UIApplicationDelegate {
    func application(
        _ application: UIApplication,
        handleEventsForBackgroundURLSession identifier: String,
        completionHandler: @escaping () -> Void
    ) {
        BackgroundUploads.pendingCompletion[identifier] = completionHandler
    }
}
