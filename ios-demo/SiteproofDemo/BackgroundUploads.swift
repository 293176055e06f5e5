import Foundation

/// Hands queued evidence to background URLSessions, which the system carries on while the
/// app is suspended or killed. Each file goes up as tus requests the server already speaks:
/// a fresh file in one `creation-with-upload` POST, a part-sent one as a PATCH of the rest.
/// When a request finishes (the app may be relaunched for it), the store learns the outcome;
/// anything but full success is left to the core's uploader on the next foreground run, which
/// asks the server where the upload stands.
///
/// Two sessions: large files (the core's `unmeteredOnly` policy) use one that never touches
/// cellular or Low Data Mode networks, so the system waits for Wi-Fi itself.
final class BackgroundUploads: NSObject, URLSessionTaskDelegate {
    static let anyNetwork = "org.siteproof.demo.uploads"
    static let unmeteredOnly = "org.siteproof.demo.uploads.unmetered"

    /// Completion handlers the system handed to the app delegate, by session identifier.
    static var pendingCompletion: [String: () -> Void] = [:]

    private let store: SiteproofStore
    private lazy var sessions: [URLSession] = [Self.anyNetwork, Self.unmeteredOnly].map { id in
        let config = URLSessionConfiguration.background(withIdentifier: id)
        config.sessionSendsLaunchEvents = true
        config.isDiscretionary = false
        if id == Self.unmeteredOnly {
            config.allowsExpensiveNetworkAccess = false
            config.allowsConstrainedNetworkAccess = false
        }
        return URLSession(configuration: config, delegate: self, delegateQueue: nil)
    }

    init(store: SiteproofStore) {
        self.store = store
        super.init()
        _ = sessions // reconnect to tasks that finished while the app was not running
    }

    /// Whether no background upload is in flight (the core's uploader must not race one).
    func idle() async -> Bool {
        for session in sessions {
            let running = await session.allTasks
            if !running.isEmpty { return false }
        }
        return true
    }

    /// Queues every pending upload not already in flight. Blocking (store calls, and a copy
    /// of the unsent part of a part-sent file): call it off the main thread.
    func handOff() throws {
        guard let base = try store.serverUrl(), let token = try store.serverToken(),
              let endpoint = URL(string: base + "/v1/uploads") else { return }
        let inFlight = Set(tasks().compactMap(\.taskDescription))
        for item in try store.pendingUploads() where !inFlight.contains(item.hash) {
            guard try store.originalPath(hash: item.hash) != nil else { continue }
            // The stored original is encrypted: the system sends a plaintext copy, which is
            // deleted when the request completes.
            var body = plainPath(item.hash)
            _ = try store.exportOriginal(hash: item.hash, destPath: body.path)
            var request: URLRequest
            if let location = item.uploadUrl, item.offset > 0,
               let url = URL(string: location, relativeTo: endpoint)?.absoluteURL {
                request = URLRequest(url: url)
                request.httpMethod = "PATCH"
                request.setValue(String(item.offset), forHTTPHeaderField: "Upload-Offset")
                body = try unsentPart(of: body, from: item.offset, hash: item.hash)
                try? FileManager.default.removeItem(at: plainPath(item.hash))
            } else {
                request = URLRequest(url: endpoint)
                request.httpMethod = "POST"
                request.setValue(String(item.size), forHTTPHeaderField: "Upload-Length")
                request.setValue(metadata(item), forHTTPHeaderField: "Upload-Metadata")
            }
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            request.setValue("1.0.0", forHTTPHeaderField: "Tus-Resumable")
            request.setValue("application/offset+octet-stream", forHTTPHeaderField: "Content-Type")
            let session = item.policy == UploadPolicy.unmeteredOnly ? sessions[1] : sessions[0]
            let task = session.uploadTask(with: request, fromFile: body)
            task.taskDescription = item.hash
            task.resume()
        }
    }

    // MARK: URLSessionTaskDelegate

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let hash = task.taskDescription else { return }
        let response = task.response as? HTTPURLResponse
        do {
            guard error == nil, let response, (200..<300).contains(response.statusCode) else {
                let why = error?.localizedDescription ?? "HTTP \(response?.statusCode ?? 0)"
                try store.recordUploadError(hash: hash, reason: "background: \(why)", permanent: false)
                return
            }
            if let location = response.value(forHTTPHeaderField: "Location") {
                try store.setUploadUrl(hash: hash, url: location) // resets the offset: set it next
            }
            let offset = response.value(forHTTPHeaderField: "Upload-Offset").flatMap(UInt64.init) ?? 0
            // The server answers the last byte only after the whole file matched its hash.
            if let item = try store.uploadItem(hash: hash), offset == item.size {
                try store.markMediaVerified(hash: hash)
            } else {
                try store.setUploadOffset(hash: hash, offset: offset)
            }
        } catch {
            // The store is unchanged; the next foreground run asks the server.
        }
        try? FileManager.default.removeItem(at: slicePath(hash))
        try? FileManager.default.removeItem(at: plainPath(hash))
    }

    func urlSessionDidFinishEvents(forBackgroundURLSession session: URLSession) {
        guard let id = session.configuration.identifier else { return }
        DispatchQueue.main.async {
            Self.pendingCompletion.removeValue(forKey: id)?()
        }
    }

    // MARK: helpers

    private func tasks() -> [URLSessionTask] {
        let group = DispatchGroup()
        var all: [URLSessionTask] = []
        let lock = NSLock()
        for session in sessions {
            group.enter()
            session.getAllTasks { tasks in
                lock.lock()
                all += tasks
                lock.unlock()
                group.leave()
            }
        }
        group.wait()
        return all
    }

    /// tus `Upload-Metadata`: base64 values, the record and hash the server checks.
    private func metadata(_ item: UploadItem) -> String {
        [("record", item.record), ("sha256", item.hash), ("filetype", item.mime), ("filename", item.hash)]
            .map { "\($0.0) \(Data($0.1.utf8).base64EncodedString())" }
            .joined(separator: ",")
    }

    /// Copies the bytes from `offset` on into a file of their own (a background upload sends
    /// a whole file), in 1 MiB steps.
    private func unsentPart(of original: URL, from offset: UInt64, hash: String) throws -> URL {
        let out = slicePath(hash)
        FileManager.default.createFile(atPath: out.path, contents: nil)
        let reader = try FileHandle(forReadingFrom: original)
        let writer = try FileHandle(forWritingTo: out)
        defer {
            try? reader.close()
            try? writer.close()
        }
        try reader.seek(toOffset: offset)
        while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty {
            try writer.write(contentsOf: chunk)
        }
        return out
    }

    private func slicePath(_ hash: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("upload-\(hash)")
    }

    private func plainPath(_ hash: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(hash)")
    }
}
