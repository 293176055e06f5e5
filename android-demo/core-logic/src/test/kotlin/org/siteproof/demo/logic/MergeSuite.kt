package org.siteproof.demo.logic

import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import org.siteproof.core.AnswerValue

object MergeSuite : Suite() {
    init {
        test("two teammates' phones merge their visits on the merge screen, no server involved") {
            val a = newRepository("merge-a", enrolled = true)
            val b = newRepository("merge-b", enrolled = true)
            val va = a.startCovertVisit(station, gas, listOf("张三"))
            a.answer(va, "go-01", AnswerValue.Fail, "甲", emptyList())
            val vb = b.startCovertVisit(station, gas, listOf("李四"))
            val (ca, cb) = MemoryChannel.pair()
            val screenA = TeammateMerge(a)
            val screenB = TeammateMerge(b)
            val (ra, rb) = coroutineScope {
                val x = async { screenA.merge(ca, initiator = true) }
                val y = async { screenB.merge(cb, initiator = false) }
                x.await() to y.await()
            }
            assertIs<MergeState.Merged>(ra, "$ra")
            assertIs<MergeState.Merged>(rb, "$rb")
            assertEquals(1uL, ra.summary.recordsReceived)
            // The group may hold other suites' visits (pulled at enrollment); these two are new.
            assertTrue(b.visits.value.map { it.id }.containsAll(listOf(va, vb)), "the list refreshed")
            assertEquals("甲", b.visit(va).answers.getValue("go-01").note)
            assertEquals(screenA.state.value, ra)
        }

        test("a teammate that leaves mid-merge shows as failed and nothing half is kept") {
            val a = newRepository("left-a", enrolled = true)
            a.startCovertVisit(station, gas, listOf("张三"))
            val before = a.visits.value.size
            val (ca, cb) = MemoryChannel.pair()
            cb.close()
            val result = TeammateMerge(a, idleMillis = 2_000).merge(ca, initiator = true)
            assertIs<MergeState.Failed>(result)
            assertTrue(!result.refused, "a broken link is not a refusal")
            assertEquals(before, a.visits.value.size)
        }
    }
}
