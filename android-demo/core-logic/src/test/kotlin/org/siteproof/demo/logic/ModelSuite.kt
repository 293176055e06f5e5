package org.siteproof.demo.logic

import java.io.File
import javax.imageio.ImageIO
import java.awt.image.BufferedImage
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.withTimeout
import org.siteproof.core.AnswerValue
import org.siteproof.core.Sector
import org.siteproof.core.Severity

private fun cameraShot(): File {
    val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
    return File(tempDir("camerax-"), "IMG_0001.jpg").also { ImageIO.write(image, "jpg", it) }
}

object ModelSuite : Suite() {
    init {
        test("starting a covert visit lists it and marks the app covert until it is finished") {
            val repo = newRepository("list")
            withModelScope { scope ->
                val list = VisitListModel(repo, scope)
                list.refresh()
                list.state.await { it.templates.isNotEmpty() }
                val started = CompletableDeferred<String>()
                list.startCovertVisit("某液化气站", "石家庄", Sector.GAS, gas, listOf("张三")) { started.complete(it) }
                val id = withTimeout(10_000) { started.await() }
                val state = list.state.await { it.rows.size == 1 }
                assertTrue(state.covertInProgress)
                assertEquals("某液化气站", state.rows.single().site)
                assertEquals(id, state.rows.single().id)
                repo.finish(state.rows.single().id)
                list.refresh()
                assertFalse(list.state.await { it.rows.single().finished }.covertInProgress)
            }
        }

        test("a blank site name is an error message, not a crash") {
            val repo = newRepository("blank")
            withModelScope { scope ->
                val list = VisitListModel(repo, scope)
                list.startCovertVisit("  ", "", Sector.GAS, gas, emptyList()) { }
                assertEquals("site name is empty", list.state.await { it.error != null }.error)
                assertTrue(repo.visits.value.isEmpty())
            }
        }

        test("the checklist shows pass, fail with note, and asks for evidence where the criterion needs it") {
            val repo = newRepository("checklist")
            val visit = repo.startCovertVisit(station, gas, listOf("张三"))
            val uploadsScheduled = java.util.concurrent.atomic.AtomicInteger()
            withModelScope { scope ->
                val checklist = ChecklistModel(repo, visit, scope) { uploadsScheduled.incrementAndGet() }
                checklist.load()
                assertEquals(16, checklist.state.await { it.rows.isNotEmpty() }.rows.size)
                checklist.pass("go-02")
                checklist.state.await { it.answered == 1 }
                checklist.fail("go-01", "未见许可证")
                val failed = checklist.state.await { it.answered == 2 }
                val row = failed.rows.first { it.item.id == "go-01" }
                assertEquals(AnswerValue.Fail, row.answer?.value)
                assertEquals("未见许可证", row.answer?.note)
                assertEquals(listOf("go-01"), failed.missingEvidence.map { it.item.id })
                // The photo of the missing licence board clears the demand and keeps the note.
                checklist.attachPhoto(cameraShot(), item = "go-01")
                val evidenced = checklist.state.await { it.missingEvidence.isEmpty() && it.visit?.media?.size == 1 }
                assertEquals("未见许可证", evidenced.rows.first { it.item.id == "go-01" }.answer?.note)
                assertEquals(1, uploadsScheduled.get())
                checklist.setNote("go-02", "台账齐全")
                assertEquals(AnswerValue.Pass, checklist.state.await { s -> s.rows.first { it.item.id == "go-02" }.answer?.note == "台账齐全" }
                    .rows.first { it.item.id == "go-02" }.answer?.value)
            }
        }

        test("findings are recorded with their item and interim measures, and bad input is a message") {
            val repo = newRepository("findings")
            val visit = repo.startCovertVisit(station, gas, listOf("张三"))
            withModelScope { scope ->
                val checklist = ChecklistModel(repo, visit, scope)
                checklist.load()
                checklist.state.await { it.rows.isNotEmpty() }
                checklist.addFinding("无证经营", Severity.MAJOR, item = "go-01", interimMeasures = "责令停业")
                val finding = checklist.state.await { it.findings.isNotEmpty() }.findings.single()
                assertEquals("责令停业", finding.interimMeasures)
                assertEquals("go-01", finding.item)
                checklist.addFinding("x", Severity.GENERAL, item = "no-such-item")
                assertEquals("That entry does not fit this item.", checklist.state.await { it.error != null }.error)
                assertEquals(1, repo.visit(visit).findings.size)
            }
        }
    }
}
