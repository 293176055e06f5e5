package org.siteproof.demo.logic

import java.awt.image.BufferedImage
import java.io.File
import javax.imageio.ImageIO
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertNull
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

        test("a teammate's photo comes as a thumbnail; its original when the inspector asks for all") {
            val a = newRepository("photo-a", enrolled = true)
            val b = newRepository("photo-b", enrolled = true)
            val visit = a.startCovertVisit(station, gas, listOf("张三"))
            val shot = File(tempDir("merge-camera-"), "shot.jpg")
            ImageIO.write(BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB), "jpg", shot)
            val original = shot.readBytes()
            val ref = a.addPhoto(visit, shot)
            suspend fun mergeWith(wanted: WantedOriginals): MergeState {
                val (ca, cb) = MemoryChannel.pair()
                return coroutineScope {
                    val x = async { TeammateMerge(a).merge(ca, initiator = true) }
                    val y = async { TeammateMerge(b).merge(cb, initiator = false, originals = wanted) }
                    x.await()
                    y.await()
                }
            }
            val first = assertIs<MergeState.Merged>(mergeWith(WantedOriginals.None))
            assertEquals(1uL, first.summary.mediaReceived)
            assertNull(b.store.mediaInfo(ref.hash), "no original unless asked for")
            val second = assertIs<MergeState.Merged>(mergeWith(WantedOriginals.All))
            assertEquals(1uL, second.summary.mediaReceived)
            val copy = File(tempDir("merge-export-"), "shot.jpg")
            assertEquals(ref.size, b.store.exportOriginal(ref.hash, copy.path))
            assertContentEquals(original, copy.readBytes())
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
