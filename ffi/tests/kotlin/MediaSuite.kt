// Evidence: a photo or a video goes into the store by hash, with a thumbnail, and is queued.

package org.siteproof.tests

import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.siteproof.core.AnswerValue
import org.siteproof.core.ApiException
import org.siteproof.core.MediaKind
import org.siteproof.core.NewFinding
import org.siteproof.core.Severity
import org.siteproof.core.UploadPolicy
import org.siteproof.core.UploadState

object MediaSuite : Suite() {
    init {
        test("a camera photo is taken in by its SHA-256 with a thumbnail, attached and queued") {
            Device("camera").use { phone ->
                phone.installTemplate()
                val visit = phone.startCovertVisit()
                val shot = photoFile(tempDir("camera-"))
                val ref = phone.store.addEvidence(visit, shot.path, photoCapture)
                assertEquals(sha256Hex(shot), ref.hash)
                assertEquals(shot.length().toULong(), ref.size)
                assertEquals(MediaKind.PHOTO, ref.kind)
                assertEquals(phone.store.deviceId(), ref.device)
                // The app's own file may go: the store holds its copy.
                shot.delete()
                // On disk the original is encrypted; the store hands out its plaintext.
                val stored = File(assertNotNull(phone.store.originalPath(ref.hash)))
                assertTrue(sha256Hex(stored) != ref.hash)
                val exported = File(tempDir("export-"), "photo.jpg")
                assertEquals(ref.size, phone.store.exportOriginal(ref.hash, exported.path))
                assertEquals(ref.hash, sha256Hex(exported))
                val thumb = assertNotNull(phone.store.thumbnailBytes(ref.hash))
                assertNotNull(javax.imageio.ImageIO.read(thumb.inputStream()))
                val info = assertNotNull(phone.store.mediaInfo(ref.hash))
                assertTrue(info.hasThumbnail && info.originalPresent)
                assertNull(info.verifiedAt)
                val queued = phone.store.pendingUploads().single()
                assertEquals(ref.hash, queued.hash)
                assertEquals(visit, queued.record)
                assertEquals(UploadState.PENDING, queued.state)
                assertEquals(UploadPolicy.ANY, queued.policy)
                assertEquals(listOf(ref), phone.store.visit(visit).media)
            }
        }

        test("answers and findings cite evidence attached to their visit, and only that") {
            Device("cite").use { phone ->
                phone.installTemplate()
                val visit = phone.startCovertVisit()
                val other = phone.startCovertVisit("另一站")
                val ref = phone.store.addEvidence(visit, photoFile(tempDir("cite-"), 2).path, photoCapture)
                phone.answer(visit, "go-01", AnswerValue.Fail, media = listOf(ref.hash))
                phone.store.addFinding(visit, NewFinding("无证经营", Severity.MAJOR, media = listOf(ref.hash)))
                assertEquals(listOf(ref.hash), phone.store.visit(visit).answers.getValue("go-01").media)
                assertFailsWith<ApiException.InvalidInput> {
                    phone.answer(other, "go-01", AnswerValue.Fail, media = listOf(ref.hash))
                }
            }
        }

        test("the same bytes imported twice are one file with one reference") {
            Device("dedup").use { phone ->
                val dir = tempDir("dedup-")
                val a = photoFile(dir, 3)
                val b = File(dir, "copy.jpg").also { a.copyTo(it) }
                val first = phone.store.importMedia(a.path, photoCapture)
                val second = phone.store.importMedia(b.path, photoCapture)
                assertEquals(first.hash, second.hash)
                assertEquals(1, File(phone.dir, "media/originals").list()!!.size)
            }
        }

        test("a video keeps its poster frame as thumbnail; a file that is no image is still evidence") {
            Device("video").use { phone ->
                phone.installTemplate()
                val visit = phone.startCovertVisit()
                val dir = tempDir("video-")
                val poster = photoFile(dir, 4)
                val clip = phone.store.addEvidence(
                    visit, footageFile(dir, 300_000).path, videoCapture.copy(posterPath = poster.path),
                )
                assertNotNull(phone.store.thumbnailPath(clip.hash))
                val broken = phone.store.addEvidence(visit, footageFile(dir, 1000, seed = 9).path, photoCapture)
                assertNull(phone.store.thumbnailPath(broken.hash))
                assertNotNull(phone.store.originalPath(broken.hash))
            }
        }
    }
}
