package org.siteproof.demo.logic

import java.io.File
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.siteproof.core.AnswerConflict
import org.siteproof.core.AnswerInput
import org.siteproof.core.AnswerValue
import org.siteproof.core.ApiException
import org.siteproof.core.CancelToken
import org.siteproof.core.Enrollment
import org.siteproof.core.GeoPoint
import org.siteproof.core.MediaCapture
import org.siteproof.core.MediaKind
import org.siteproof.core.MediaRef
import org.siteproof.core.Network
import org.siteproof.core.NewFinding
import org.siteproof.core.NewVisit
import org.siteproof.core.Site
import org.siteproof.core.SiteproofStore
import org.siteproof.core.Template
import org.siteproof.core.TemplateRef
import org.siteproof.core.TemplateSummary
import org.siteproof.core.UploadProgress
import org.siteproof.core.UploadSummary
import org.siteproof.core.Visit
import org.siteproof.core.VisitMode
import org.siteproof.core.VisitSummary

/**
 * The app's one door to the core. Every store call blocks (disk or network I/O), so each runs
 * on [io]; callers stay on the main thread. The visit list is a [StateFlow] refreshed after
 * every write, so screens observe it instead of polling.
 */
class InspectionRepository(
    val store: SiteproofStore,
    private val io: CoroutineDispatcher = Dispatchers.IO,
    private val clock: () -> Long = System::currentTimeMillis,
) {
    private val _visits = MutableStateFlow<List<VisitSummary>>(emptyList())
    private val _sync = MutableStateFlow<SyncStatus>(SyncStatus.Idle)

    /** Every visit, newest first. */
    val visits: StateFlow<List<VisitSummary>> = _visits.asStateFlow()

    /** The last sync's outcome. */
    val syncStatus: StateFlow<SyncStatus> = _sync.asStateFlow()

    suspend fun refresh() = withContext(io) { _visits.value = store.listVisits() }

    suspend fun templates(): List<TemplateSummary> = withContext(io) { store.listTemplates() }

    suspend fun template(ref: TemplateRef): Template = withContext(io) { store.template(ref.id, ref.version) }

    suspend fun visit(id: String): Visit = withContext(io) { store.visit(id) }

    suspend fun conflicts(visit: String): List<AnswerConflict> = withContext(io) { store.conflicts(visit) }

    suspend fun pendingChanges(): Long = withContext(io) { store.outboxLen().toLong() }

    suspend fun pendingUploads(): Int = withContext(io) { store.pendingUploads().size }

    /** Starts a covert visit (the normal case) and returns its id. */
    suspend fun startCovertVisit(site: Site, template: TemplateRef, team: List<String>, at: GeoPoint? = null): String =
        write {
            store.createVisit(NewVisit(site, VisitMode.COVERT, team, template, location = at))
        }

    suspend fun answer(visit: String, item: String, value: AnswerValue, note: String?, media: List<String>) =
        write { store.answerItem(visit, item, AnswerInput(value, note, media)) }

    suspend fun addFinding(visit: String, finding: NewFinding): String = write { store.addFinding(visit, finding) }

    suspend fun finish(visit: String) = write { store.finishVisit(visit) }

    /**
     * Takes a CameraX photo into the store (copied, hashed, thumbnailed, queued for upload) and
     * deletes the camera's file: the only copy is then the store's.
     */
    suspend fun addPhoto(visit: String, file: File, at: GeoPoint? = null): MediaRef = write {
        store.addEvidence(visit, file.path, MediaCapture(MediaKind.PHOTO, "image/jpeg", clock(), at))
            .also { file.delete() }
    }

    /** Takes a recorded video and the poster frame the platform extracted. */
    suspend fun addVideo(visit: String, file: File, poster: File?, at: GeoPoint? = null): MediaRef = write {
        store.addEvidence(visit, file.path, MediaCapture(MediaKind.VIDEO, "video/mp4", clock(), at, poster?.path))
            .also { file.delete(); poster?.delete() }
    }

    /** The thumbnail's JPEG bytes (decrypted by the store; the file on disk is encrypted). */
    suspend fun thumbnail(hash: String): ByteArray? = withContext(io) { store.thumbnailBytes(hash) }

    suspend fun enroll(serverUrl: String, code: String, deviceName: String): Enrollment =
        withContext(io) { store.enroll(serverUrl, code, deviceName) }

    /** Pushes and pulls; never throws: the outcome is in the returned (and published) status. */
    suspend fun sync(): SyncStatus {
        _sync.value = SyncStatus.Syncing
        val status = try {
            SyncStatus.Synced(withContext(io) { store.sync() }, clock())
        } catch (e: ApiException) {
            SyncStatus.of(e)
        }
        _sync.value = status
        refresh()
        return status
    }

    /**
     * Uploads what [network] allows. Cancelling the calling coroutine (WorkManager stopping
     * the worker) cancels the upload at the next chunk boundary; what the server acknowledged
     * is kept for the next run.
     */
    suspend fun uploadPending(network: Network, onProgress: (String, Long, Long) -> Unit = { _, _, _ -> }): UploadSummary =
        coroutineScope {
            val token = CancelToken()
            // Blocking native code cannot see coroutine cancellation: a watcher relays it.
            val watcher = launch(start = CoroutineStart.UNDISPATCHED) {
                try {
                    awaitCancellation()
                } finally {
                    token.cancel()
                }
            }
            val listener = object : UploadProgress {
                override fun onProgress(hash: String, done: ULong, total: ULong) =
                    onProgress(hash, done.toLong(), total.toLong())
            }
            try {
                withContext(io) { store.uploadPending(network, listener, token) }
            } catch (e: ApiException.Cancelled) {
                ensureActive() // cancelled by our coroutine: end as a cancelled coroutine does
                throw e
            } finally {
                watcher.cancel()
            }
        }

    private suspend fun <T> write(block: () -> T): T = withContext(io) {
        block().also { _visits.value = store.listVisits() }
    }
}
