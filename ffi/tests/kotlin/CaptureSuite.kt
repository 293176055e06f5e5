// Capturing offline: what an inspector does on site with no signal.

package org.siteproof.tests

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.siteproof.core.AnswerValue
import org.siteproof.core.ApiException
import org.siteproof.core.NewFinding
import org.siteproof.core.Severity
import org.siteproof.core.VisitMode

object CaptureSuite : Suite() {
    init {
        test("a covert visit captured offline survives the app being killed and reopened") {
            Device("zhang").use { phone ->
                phone.signIn("张三")
                phone.installTemplate()
                val visit = phone.startCovertVisit()
                phone.answer(visit, "go-01", AnswerValue.Fail, note = "无燃气经营许可证")
                phone.answer(visit, "go-02", AnswerValue.Pass)
                phone.store.addFinding(
                    visit,
                    NewFinding(
                        description = "未取得燃气经营许可证擅自经营",
                        severity = Severity.MAJOR,
                        item = "go-01",
                        interimMeasures = "责令停止经营",
                    ),
                )
                phone.reopen()
                val loaded = phone.store.visit(visit)
                assertEquals(VisitMode.COVERT, loaded.mode)
                assertEquals("某燃气站", loaded.site.name)
                assertEquals(AnswerValue.Fail, loaded.answers.getValue("go-01").value)
                assertEquals("无燃气经营许可证", loaded.answers.getValue("go-01").note)
                assertEquals("张三", loaded.answers.getValue("go-01").by)
                assertEquals(phone.store.deviceId(), loaded.answers.getValue("go-01").device)
                assertEquals(listOf("未取得燃气经营许可证擅自经营"), loaded.findings.map { it.description })
                assertEquals("责令停止经营", loaded.findings.single().interimMeasures)
                // Creation, two answers, one finding: all waiting for the server.
                assertEquals(4uL, phone.store.outboxLen())
            }
        }

        test("the visit list shows answered items and findings by severity without loading visits") {
            Device("li").use { phone ->
                phone.installTemplate()
                val first = phone.startCovertVisit("甲燃气站")
                val second = phone.startCovertVisit("乙燃气站")
                phone.answer(second, "go-01", AnswerValue.Pass)
                phone.answer(second, "go-02", AnswerValue.Fail)
                phone.store.addFinding(second, NewFinding("应急预案缺失", Severity.GENERAL))
                phone.store.addFinding(second, NewFinding("无许可证", Severity.MAJOR, item = "go-01"))
                phone.store.finishVisit(second)
                val list = phone.store.listVisits()
                assertEquals(setOf(first, second), list.map { it.id }.toSet())
                val summary = list.single { it.id == second }
                assertEquals(2u, summary.answered)
                assertEquals(1u, summary.majorFindings)
                assertEquals(1u, summary.generalFindings)
                assertNotNull(summary.endedAt)
                assertNull(list.single { it.id == first }.endedAt)
            }
        }

        test("the checklist screen reads the template's items in order") {
            Device("wang").use { phone ->
                phone.installTemplate()
                val summary = phone.store.listTemplates().single()
                assertEquals(GAS_TEMPLATE, summary.id)
                val template = phone.store.template(summary.id, summary.version)
                assertEquals(summary.items.toInt(), template.items.size)
                assertEquals("go-01", template.items.first().id)
                assertTrue(template.items.first().evidenceRequired)
                assertTrue(template.items.all { it.text.zh.isNotBlank() && it.criterion.document.isNotBlank() })
            }
        }

        test("a re-answer replaces the earlier answer of the same item") {
            Device("zhao").use { phone ->
                phone.installTemplate()
                val visit = phone.startCovertVisit()
                phone.answer(visit, "go-03", AnswerValue.Fail, note = "first look")
                phone.answer(visit, "go-03", AnswerValue.Pass, note = "found the records")
                val answer = phone.store.visit(visit).answers.getValue("go-03")
                assertEquals(AnswerValue.Pass, answer.value)
                assertEquals("found the records", answer.note)
                assertTrue(phone.store.conflicts(visit).isEmpty())
            }
        }

        test("answers that do not fit their item are refused as InvalidInput and change nothing") {
            Device("qian").use { phone ->
                phone.installTemplate()
                val visit = phone.startCovertVisit()
                val before = phone.store.outboxLen()
                assertFailsWith<ApiException.InvalidInput> {
                    phone.answer(visit, "go-01", AnswerValue.Number(3.5))
                }
                assertFailsWith<ApiException.InvalidInput> {
                    phone.answer(visit, "no-such-item", AnswerValue.Pass)
                }
                assertFailsWith<ApiException.InvalidInput> {
                    phone.store.addFinding(visit, NewFinding("x", Severity.MAJOR, item = "no-such-item"))
                }
                assertEquals(before, phone.store.outboxLen())
                assertTrue(phone.store.visit(visit).answers.isEmpty())
            }
        }
    }
}
