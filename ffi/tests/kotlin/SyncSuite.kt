// Enrollment and sync against the real server the test script started.

package org.siteproof.tests

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import org.siteproof.core.AnswerValue
import org.siteproof.core.ApiException

object SyncSuite : Suite() {
    init {
        test("enrolling sets the group's scope and the first sync brings the published templates") {
            Device("enroll").use { phone ->
                phone.signIn("张三")
                val enrollment = phone.enroll()
                assertEquals(Server.group, enrollment.group)
                assertEquals("hebei", enrollment.region)
                val profile = phone.store.profile()
                assertEquals("张三", profile.inspector)
                assertEquals(Server.group, profile.scope.group)
                assertEquals(Server.url, phone.store.serverUrl())
                val summary = phone.store.sync()
                assertTrue(summary.pulled > 0uL, "templates arrive: $summary")
                assertTrue(phone.store.listTemplates().any { it.id == GAS_TEMPLATE })
                // Nothing changed since: a second sync moves nothing.
                val again = phone.store.sync()
                assertEquals(0uL, again.pushed)
                assertEquals(0uL, again.pulled)
            }
        }

        test("a visit captured offline reaches the group's other phone through the server") {
            Device("a1").use { a ->
                Device("b1").use { b ->
                    a.enroll(); a.store.sync()
                    b.enroll(); b.store.sync()
                    // On site, no signal.
                    val visit = a.startCovertVisit()
                    a.answer(visit, "go-01", AnswerValue.Fail, note = "许可证过期")
                    assertEquals(2uL, a.store.outboxLen())
                    // Back in coverage.
                    val pushed = a.store.sync()
                    assertEquals(2uL, pushed.pushed)
                    assertEquals(0uL, a.store.outboxLen())
                    b.store.sync()
                    val seen = b.store.visit(visit)
                    assertEquals("许可证过期", seen.answers.getValue("go-01").note)
                    assertTrue(b.store.listVisits().any { it.id == visit })
                }
            }
        }

        test("two phones answering one item differently keep both answers until one resolves it") {
            Device("a2").use { a ->
                Device("b2").use { b ->
                    a.signIn("张三"); a.enroll(); a.store.sync()
                    b.signIn("李四"); b.enroll(); b.store.sync()
                    val visit = a.startCovertVisit()
                    a.store.sync(); b.store.sync()
                    a.answer(visit, "go-05", AnswerValue.Pass)
                    b.answer(visit, "go-05", AnswerValue.Fail, note = "阀门锈蚀")
                    a.store.sync(); b.store.sync(); a.store.sync()
                    for (phone in listOf(a, b)) {
                        val conflict = phone.store.conflicts(visit).single()
                        assertEquals("go-05", conflict.item)
                        assertEquals(setOf("张三", "李四"), conflict.answers.map { it.by }.toSet())
                        assertEquals(1u, phone.store.listVisits().single { it.id == visit }.conflicts)
                    }
                    a.answer(visit, "go-05", AnswerValue.Fail, note = "复核：阀门锈蚀")
                    assertTrue(a.store.conflicts(visit).isEmpty())
                    a.store.sync(); b.store.sync()
                    assertTrue(b.store.conflicts(visit).isEmpty())
                    assertEquals("复核：阀门锈蚀", b.store.visit(visit).answers.getValue("go-05").note)
                }
            }
        }

        test("a revoked phone's sync raises Unauthorized and keeps its captures") {
            Device("revoked").use { phone ->
                val enrollment = phone.enroll()
                phone.store.sync()
                val visit = phone.startCovertVisit()
                Server.revoke(enrollment.deviceId)
                assertFailsWith<ApiException.Unauthorized> { phone.store.sync() }
                assertTrue(phone.store.outboxLen() > 0uL)
                assertTrue(phone.store.listVisits().any { it.id == visit })
            }
        }
    }
}
