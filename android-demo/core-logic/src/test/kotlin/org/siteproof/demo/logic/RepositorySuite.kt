package org.siteproof.demo.logic

import java.io.File
import java.util.Random
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import org.siteproof.core.AnswerValue
import org.siteproof.core.ApiException
import org.siteproof.core.Network
import org.siteproof.core.Sector
import org.siteproof.core.Site
import org.siteproof.core.TemplateRef

val gas = TemplateRef("gas-operator-major", 1u)
val station = Site("某燃气站", null, "石家庄", Sector.GAS)

object RepositorySuite : Suite() {
    init {
        test("the visit list flow follows every capture") {
            val repo = newRepository("flow")
            assertTrue(repo.visits.value.isEmpty())
            val visit = repo.startCovertVisit(station, gas, listOf("张三"))
            assertEquals(listOf(visit), repo.visits.value.map { it.id })
            repo.answer(visit, "go-01", AnswerValue.Fail, "无证", emptyList())
            assertEquals(1u, repo.visits.value.single().answered)
        }

        test("a photo from the camera ends up in the store only, attached to the visit") {
            val repo = newRepository("photo")
            val visit = repo.startCovertVisit(station, gas, listOf("张三"))
            val shot = File(tempDir("camera-"), "shot.jpg").also { it.writeBytes(ByteArray(5000) { i -> i.toByte() }) }
            val ref = repo.addPhoto(visit, shot)
            assertFalse(shot.exists(), "the camera's file is deleted once the store holds it")
            assertEquals(listOf(ref.hash), repo.visit(visit).media.map { it.hash })
            assertEquals(1, repo.pendingUploads())
        }

        test("sync reports what the inspector can act on: enroll first, then synced") {
            val offline = newRepository("never-enrolled")
            assertEquals(SyncStatus.NeedsEnrollment, offline.sync())
            val repo = newRepository("sync", enrolled = true)
            repo.startCovertVisit(station, gas, listOf("张三"))
            val synced = assertIs<SyncStatus.Synced>(repo.sync())
            assertEquals(1uL, synced.summary.pushed) // the visit's creation
            assertEquals(synced, repo.syncStatus.value)
            assertEquals(0L, repo.pendingChanges())
        }

        test("a network failure is Offline, credentials refused NeedsEnrollment") {
            assertIs<SyncStatus.Offline>(SyncStatus.of(ApiException.Network("connection refused")))
            assertEquals(SyncStatus.NeedsEnrollment, SyncStatus.of(ApiException.Unauthorized("revoked")))
            assertIs<SyncStatus.Failed>(SyncStatus.of(ApiException.ServerRefused(500u, "internal", "x")))
        }

        test("cancelling the upload's coroutine stops it at a chunk boundary and the next run resumes") {
            val repo = newRepository("upload", enrolled = true)
            val visit = repo.startCovertVisit(station, gas, listOf("张三"))
            val footage = File(tempDir("video-"), "clip.mp4")
            footage.writeBytes(ByteArray(18_000_000).also { Random(42).nextBytes(it) })
            val ref = repo.addVideo(visit, footage, poster = null)
            repo.sync()
            val firstChunk = CompletableDeferred<Long>()
            val job = launch(Dispatchers.Default) {
                repo.uploadPending(Network.UNMETERED) { _, done, _ -> firstChunk.complete(done) }
            }
            val done = withTimeout(30_000) { firstChunk.await() }
            job.cancel()
            job.join()
            assertTrue(job.isCancelled)
            val item = repo.store.uploadItem(ref.hash)!!
            assertTrue(item.offset.toLong() in done until ref.size.toLong(), "stopped part-way at ${item.offset}")
            val board = UploadProgressBoard()
            val rest = repo.uploadPending(Network.UNMETERED, board::report)
            assertEquals(listOf(ref.hash), rest.completed)
            assertEquals(1.0, board.overall())
        }
    }
}
