// Re-inspection (复查) against the real server: the office sends a hazard back to the group,
// the phone reads it with its original evidence, records the result with a photo, and the
// office verifies the hazard by it.

package org.siteproof.tests

import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.MessageDigest
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.siteproof.core.AssignmentKind
import org.siteproof.core.NewFinding
import org.siteproof.core.NewReinspection
import org.siteproof.core.Network
import org.siteproof.core.ReinspectionOutcome
import org.siteproof.core.Severity
import org.siteproof.core.VisitFromAssignment
import org.siteproof.core.VisitMode

/** An office user's browser: its session cookie and CSRF token (redirects not followed). */
class Office(login: String) {
    private val http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build()
    private val session: String
    private val csrf: String

    init {
        val password = "correct horse battery staple"
        Server.addOfficeUser(login, password)
        val form = send("GET", "/office/login", null, null)
        val token = cookie(form, "sp_login_csrf")
        val signedIn = send("POST", "/office/login",
            mapOf("csrf" to token, "login" to login, "password" to password), "sp_login_csrf=$token")
        assertEquals(303, signedIn.statusCode(), signedIn.body())
        session = "sp_session=" + cookie(signedIn, "sp_session")
        csrf = Regex("name=\"csrf\" value=\"([^\"]+)\"").find(get("/office/ledger"))!!.groupValues[1]
    }

    fun get(path: String): String = send("GET", path, null, session).body()

    fun post(path: String, vararg form: Pair<String, String>): Int =
        send("POST", path, mapOf("csrf" to csrf) + form, session).statusCode()

    /** Imports an enterprise roster (CSV) into the registry, as the list page's script does. */
    fun importRoster(csv: String) {
        val request = HttpRequest.newBuilder(URI.create(Server.url + "/office/enterprises/import"))
            .header("Cookie", session)
            .header("X-CSRF-Token", csrf)
            .POST(HttpRequest.BodyPublishers.ofString(csv))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        assertTrue(response.statusCode() < 400, "roster import: ${response.body()}")
    }

    private fun send(method: String, path: String, form: Map<String, String>?, cookie: String?): HttpResponse<String> {
        val body = form?.entries?.joinToString("&") { (k, v) ->
            URLEncoder.encode(k, Charsets.UTF_8) + "=" + URLEncoder.encode(v, Charsets.UTF_8)
        }
        val request = HttpRequest.newBuilder(URI.create(Server.url + path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .apply { if (cookie != null) header("Cookie", cookie) }
            .method(method, if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body))
            .build()
        return http.send(request, HttpResponse.BodyHandlers.ofString())
    }

    private fun cookie(response: HttpResponse<String>, name: String): String =
        response.headers().allValues("set-cookie").first { it.startsWith("$name=") }
            .substringBefore(';').substringAfter('=')
}

/** The ledger entry of a finding (`RecordId::for_finding_case`). */
fun caseId(visit: String, finding: String): String {
    val digest = MessageDigest.getInstance("SHA-256")
        .digest(visit.toByteArray() + byteArrayOf(0) + finding.toByteArray())
    return "case:" + digest.joinToString("") { "%02x".format(it) }.take(32)
}

object ReinspectionSuite : Suite() {
    init {
        test("a re-inspection is read offline, recorded with a photo and verified by the office") {
            Device("reinspect").use { phone ->
                phone.signIn("张三"); phone.enroll(); phone.store.sync()
                val visit = phone.startCovertVisit("某加气站")
                val found = phone.store.addEvidence(visit, photoFile(phone.dir, 3).path, photoCapture)
                val finding = phone.store.addFinding(visit, NewFinding(
                    description = "加气机防撞设施缺失", severity = Severity.MAJOR, media = listOf(found.hash)))
                phone.store.sync()
                val case = caseId(visit, finding)

                val office = Office("kt-office")
                assertEquals(303, office.post("/office/ledger/reinspection", "case" to case))

                phone.store.sync()
                val pushed = phone.store.assignments().single { it.kind == AssignmentKind.REINSPECTION }
                assertEquals(listOf(case), pushed.cases)
                val task = phone.store.reinspectionTasks(pushed.id).single()
                assertEquals("open", task.hazard.status)
                assertEquals("加气机防撞设施缺失", task.finding?.description)
                assertEquals(listOf(found.hash), task.evidence.map { it.hash })

                val trip = phone.store.startVisitFromAssignment(
                    pushed.id, VisitFromAssignment(mode = VisitMode.ANNOUNCED, team = listOf("张三")))
                val shot = phone.store.addEvidence(trip, photoFile(phone.dir, 4).path, photoCapture)
                val result = phone.store.recordReinspection(trip, NewReinspection(
                    caseId = case, outcome = ReinspectionOutcome.RECTIFIED, note = "已加装防撞柱",
                    media = listOf(shot.hash)))
                val recorded = phone.store.reinspectionTasks(pushed.id, trip).single().results.single()
                assertEquals(result, recorded.id)
                phone.store.sync()
                assertTrue(shot.hash in phone.store.uploadPending(Network.UNMETERED, null, null).completed)

                assertTrue("data-result=\"$result\" data-outcome=\"rectified\"" in office.get("/office/cases/$case"))
                assertEquals(303, office.post("/office/cases/$case/reinspections/$result/verify"))
                assertTrue("data-status=\"verified\"" in office.get("/office/cases/$case"))
                phone.store.sync()
                assertEquals("verified", phone.store.reinspectionTasks(pushed.id, trip).single().hazard.status)
            }
        }
    }
}
