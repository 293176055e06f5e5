// Two phones of one group merging through the byte-stream peer API, no server involved after
// enrollment: the test carries the bytes the way an app carries them over its channel.

package org.siteproof.tests

import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.siteproof.core.AnswerValue
import org.siteproof.core.PeerSession

object PeerSuite : Suite() {
    init {
        test("two phones of one group merge their visits through the peer byte stream") {
            Device("peer-a").use { a ->
                Device("peer-b").use { b ->
                    a.enroll(); a.store.sync()
                    b.enroll(); b.store.sync()
                    val va = a.startCovertVisit("甲企业")
                    a.answer(va, "go-01", AnswerValue.Fail, note = "甲")
                    val vb = b.startCovertVisit("乙企业")
                    val initiator = PeerSession(a.store, true)
                    val responder = PeerSession(b.store, false)
                    settle(initiator, responder)
                    assertEquals(1uL, initiator.summary().recordsReceived)
                    assertEquals(1uL, responder.summary().recordsReceived)
                    assertEquals("甲", b.store.visit(va).answers.getValue("go-01").note)
                    assertTrue(a.store.listVisits().any { it.id == vb })
                    // Learned from the peer, pushed to the server like any other change.
                    assertTrue(b.store.outboxLen() > 0uL)
                }
            }
        }

        test("a teammate's photo arrives as a thumbnail, and its original on request, verified") {
            Device("media-a").use { a ->
                Device("media-b").use { b ->
                    a.enroll(); a.store.sync()
                    b.enroll(); b.store.sync()
                    val visit = a.startCovertVisit("丙企业")
                    val ref = a.store.addEvidence(visit, photoFile(tempDir("peer-photo-"), 7).path, photoCapture)
                    val run = { originals: List<String> ->
                        val x = PeerSession.withMedia(a.store, true, false, emptyList())
                        val y = PeerSession.withMedia(b.store, false, false, originals)
                        settle(x, y)
                        y.summary()
                    }
                    assertEquals(1uL, run(emptyList()).mediaReceived, "the thumbnail")
                    assertNotNull(b.store.thumbnailBytes(ref.hash))
                    assertNull(b.store.mediaInfo(ref.hash), "no original without asking")
                    assertEquals(1uL, run(listOf(ref.hash)).mediaReceived, "the original")
                    val copy = File(tempDir("peer-export-"), "photo.jpg")
                    assertEquals(ref.size, b.store.exportOriginal(ref.hash, copy.path))
                    assertEquals(ref.hash, sha256Hex(copy))
                }
            }
        }
    }
}

/** Carries the bytes between two sessions, as the app's channel would, until both finish. */
private fun settle(initiator: PeerSession, responder: PeerSession) {
    var rounds = 0
    while (!(initiator.isFinished() && responder.isFinished())) {
        responder.feed(initiator.takeOutput())
        initiator.feed(responder.takeOutput())
        rounds += 1
        assertTrue(rounds < 100, "the session settles")
    }
}
