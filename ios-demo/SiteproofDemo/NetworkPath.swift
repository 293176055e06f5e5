import Foundation
import Network

/// The network the phone is on, in the core's terms (`CoreNetwork` is the bindings' `Network`
/// enum, renamed in `CoreNames.swift` because this file imports Apple's `Network` module).
final class NetworkPath {
    private let monitor = NWPathMonitor()

    init() {
        monitor.start(queue: DispatchQueue(label: "network-path"))
    }

    /// Large files wait for an unmetered network; nothing goes up offline.
    var current: CoreNetwork {
        let path = monitor.currentPath
        guard path.status == .satisfied else { return CoreNetwork.offline }
        return path.isExpensive || path.isConstrained ? CoreNetwork.metered : CoreNetwork.unmetered
    }
}
