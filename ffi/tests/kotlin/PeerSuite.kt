// Two phones of one group merging through the byte-stream peer API, no server involved after
// enrollment: the test carries the bytes the way an app carries them over its channel.

package org.siteproof.tests

import kotlin.test.assertEquals
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
                    var rounds = 0
                    while (!(initiator.isFinished() && responder.isFinished())) {
                        responder.feed(initiator.takeOutput())
                        initiator.feed(responder.takeOutput())
                        rounds += 1
                        assertTrue(rounds < 100, "the session settles")
                    }
                    assertEquals(1uL, initiator.summary().recordsReceived)
                    assertEquals(1uL, responder.summary().recordsReceived)
                    assertEquals("甲", b.store.visit(va).answers.getValue("go-01").note)
                    assertTrue(a.store.listVisits().any { it.id == vb })
                    // Learned from the peer, pushed to the server like any other change.
                    assertTrue(b.store.outboxLen() > 0uL)
                }
            }
        }
    }
}
