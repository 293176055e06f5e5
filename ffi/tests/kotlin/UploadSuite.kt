// The upload queue: footage goes up in chunks with progress, can be cancelled, resumes, and
// never blocks captures.

package org.siteproof.tests

import java.net.HttpURLConnection
import java.net.URI
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.siteproof.core.AnswerValue
import org.siteproof.core.ApiException
import org.siteproof.core.CancelToken
import org.siteproof.core.Network
import org.siteproof.core.UploadProgress
import org.siteproof.core.UploadState

private const val CHUNK = 8L shl 20

/** Records every progress report, as a view model would before posting it to the UI. */
class RecordingProgress(private val onReport: (String, Long, Long) -> Unit = { _, _, _ -> }) : UploadProgress {
    val reports = java.util.Collections.synchronizedList(mutableListOf<Pair<String, Long>>())

    override fun onProgress(hash: String, done: ULong, total: ULong) {
        reports += hash to done.toLong()
        onReport(hash, done.toLong(), total.toLong())
    }
}

/** An enrolled phone with one synced covert visit holding `size` bytes of footage. */
private fun phoneWithFootage(name: String, size: Int): Triple<Device, String, String> {
    val phone = Device(name)
    phone.enroll()
    phone.store.sync()
    val visit = phone.startCovertVisit()
    // Distinct bytes per test: the server would take the same bytes at once, sending nothing.
    val footage = footageFile(tempDir("$name-"), size, seed = name.hashCode().toLong())
    val clip = phone.store.addEvidence(visit, footage.path, videoCapture)
    // The server takes a file only for a record it holds that references it.
    phone.store.sync()
    return Triple(phone, visit, clip.hash)
}

/** Whether the server serves the file to this phone, and its length. */
private fun served(phone: Device, visit: String, hash: String): Long {
    val url = URI("${Server.url}/v1/media/$hash?record=$visit").toURL()
    val conn = url.openConnection() as HttpURLConnection
    conn.setRequestProperty("Authorization", "Bearer ${phone.store.serverToken()}")
    return try {
        assertEquals(200, conn.responseCode)
        conn.inputStream.use { it.readBytes().size.toLong() }
    } finally {
        conn.disconnect()
    }
}

object UploadSuite : Suite() {
    init {
        test("footage goes up in chunks with rising progress and ends verified on the server") {
            val size = 20_000_000
            val (phone, visit, hash) = phoneWithFootage("upload", size)
            phone.use {
                val progress = RecordingProgress()
                val run = phone.store.uploadPending(Network.UNMETERED, progress, CancelToken())
                assertEquals(listOf(hash), run.completed)
                assertTrue(run.deferred.isEmpty() && run.failed.isEmpty())
                val done = progress.reports.map { it.second }
                assertEquals(listOf(CHUNK, 2 * CHUNK, size.toLong()), done)
                assertTrue(progress.reports.all { it.first == hash })
                val item = assertNotNull(phone.store.uploadItem(hash))
                assertEquals(UploadState.DONE, item.state)
                assertNotNull(phone.store.mediaInfo(hash)?.verifiedAt)
                assertTrue(phone.store.pendingUploads().isEmpty())
                assertEquals(size.toLong(), served(phone, visit, hash))
            }
        }

        test("a cancelled upload keeps what the server acknowledged and the next run resumes there") {
            val size = 20_000_000
            val (phone, _, hash) = phoneWithFootage("cancel", size)
            phone.use {
                val cancel = CancelToken()
                val progress = RecordingProgress { _, _, _ -> cancel.cancel() }
                assertFailsWith<ApiException.Cancelled> {
                    phone.store.uploadPending(Network.UNMETERED, progress, cancel)
                }
                assertTrue(cancel.isCancelled())
                val item = assertNotNull(phone.store.uploadItem(hash))
                assertEquals(UploadState.PENDING, item.state)
                assertEquals(CHUNK.toULong(), item.offset)
                val resumed = phone.store.uploadPending(Network.UNMETERED, null, CancelToken())
                assertEquals(listOf(hash), resumed.completed)
                assertEquals((size - CHUNK).toULong(), resumed.bytesSent)
            }
        }

        test("the inspector keeps capturing while footage uploads") {
            val (phone, visit, _) = phoneWithFootage("concurrent", 20_000_000)
            phone.use {
                val ui = Executors.newSingleThreadExecutor()
                val captured = mutableListOf<Boolean>()
                val progress = RecordingProgress { _, done, _ ->
                    if (done == CHUNK) {
                        // Mid-upload, from another thread: must not wait for the upload.
                        val capture = ui.submit { phone.answer(visit, "go-02", AnswerValue.Pass) }
                        capture.get(10, TimeUnit.SECONDS)
                        captured += true
                    }
                }
                phone.store.uploadPending(Network.UNMETERED, progress, null)
                ui.shutdown()
                assertEquals(listOf(true), captured)
                assertEquals(AnswerValue.Pass, phone.store.visit(visit).answers.getValue("go-02").value)
            }
        }

        test("a file whose visit the server has not seen waits for the sync, then goes up") {
            Device("early").use { phone ->
                phone.enroll()
                phone.store.sync()
                val visit = phone.startCovertVisit()
                val ref = phone.store.addEvidence(visit, photoFile(tempDir("early-"), 5).path, photoCapture)
                val early = phone.store.uploadPending(Network.METERED, null, null)
                assertEquals(listOf(ref.hash), early.deferred.map { it.hash })
                assertNotNull(phone.store.uploadItem(ref.hash)?.lastError)
                phone.store.sync()
                val later = phone.store.uploadPending(Network.METERED, null, null)
                assertEquals(listOf(ref.hash), later.completed)
            }
        }

        test("nothing goes up offline; verified originals can be evicted and thumbnails stay") {
            Device("evict").use { phone ->
                phone.enroll()
                phone.store.sync()
                val visit = phone.startCovertVisit()
                val ref = phone.store.addEvidence(visit, photoFile(tempDir("evict-"), 6).path, photoCapture)
                phone.store.sync()
                val offline = phone.store.uploadPending(Network.OFFLINE, null, null)
                assertTrue(offline.completed.isEmpty())
                assertEquals(1u, offline.waitingForUnmetered)
                assertEquals(0uL, phone.store.evictVerifiedMedia(0uL).files.toULong())
                phone.store.uploadPending(Network.METERED, null, null)
                val freed = phone.store.evictVerifiedMedia(0uL)
                assertEquals(1u, freed.files)
                // The space freed on disk: the encrypted file is a little larger than the photo.
                assertTrue(freed.bytes > ref.size && freed.bytes < ref.size + 200uL)
                assertNull(phone.store.originalPath(ref.hash))
                assertNotNull(phone.store.thumbnailPath(ref.hash))
                assertTrue(phone.store.mediaInfo(ref.hash)?.originalPresent == false)
            }
        }
    }
}
