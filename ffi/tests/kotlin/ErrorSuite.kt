// Errors reach Kotlin as exceptions a caller can branch on.

package org.siteproof.tests

import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import org.siteproof.core.ApiException
import org.siteproof.core.Network
import org.siteproof.core.SiteproofStore

object ErrorSuite : Suite() {
    init {
        test("unknown ids raise NotFound, malformed ids InvalidInput, a template id as a visit WrongKind") {
            Device("errors").use { phone ->
                val template = phone.installTemplate()
                assertFailsWith<ApiException.NotFound> { phone.store.visit("0190f000-0000-7000-8000-000000000000") }
                assertFailsWith<ApiException.NotFound> { phone.store.template("no-such-template", 1u) }
                val bad = assertFailsWith<ApiException.InvalidInput> { phone.store.visit("../../etc/passwd") }
                assertTrue(bad.message!!.contains("record id"))
                assertFailsWith<ApiException.InvalidInput> { phone.store.mediaInfo("not-a-hash") }
                assertFailsWith<ApiException.WrongKind> { phone.store.visit(template) }
            }
        }

        test("templates are validated and versions are immutable") {
            Device("templates").use { phone ->
                phone.installTemplate()
                assertFailsWith<ApiException.Malformed> { phone.installTemplate() }
                assertFailsWith<ApiException.InvalidInput> { phone.store.installTemplateJson("{\"id\": 1}") }
                val empty = """{"id":"t","version":1,"sector":"gas","title":{"zh":"空","en":"empty"},
                    "source":{"document":"d","reference":"r"},"items":[]}"""
                assertFailsWith<ApiException.InvalidInput> { phone.store.installTemplateJson(empty) }
                assertEquals(1, phone.store.listTemplates().size)
            }
        }

        test("network calls before enrollment raise NotFound, a wrong code Unauthorized, no server Network") {
            Device("offline").use { phone ->
                assertFailsWith<ApiException.NotFound> { phone.store.sync() }
                assertFailsWith<ApiException.NotFound> { phone.store.uploadPending(Network.UNMETERED, null, null) }
                assertFailsWith<ApiException.Unauthorized> {
                    phone.store.enroll(Server.url, "AAAA-BBBB-CCCC-DDD", "phone")
                }
                // A port nothing listens on: the phone is as good as offline.
                assertFailsWith<ApiException.Network> {
                    phone.store.enroll("http://127.0.0.1:9", Server.enrollCode(), "phone")
                }
                assertEquals(null, phone.store.serverUrl())
            }
        }

        test("a wrong, missing or malformed key is refused and the right key still opens the store") {
            val dir = tempDir("keys-")
            val db = java.io.File(dir, "siteproof.db").path
            val media = java.io.File(dir, "media").path
            val key = ByteArray(32) { (it * 7).toByte() }
            SiteproofStore.open(db, media, key.copyOf()).use { it.setProfile(it.profile()) }
            assertFailsWith<ApiException.WrongKey> { SiteproofStore.open(db, media, ByteArray(32)) }
            assertFailsWith<ApiException.WrongKey> { SiteproofStore.open(db, media, null) }
            assertFailsWith<ApiException.InvalidInput> { SiteproofStore.open(db, media, ByteArray(16)) }
            val newKey = ByteArray(32) { 9 }
            SiteproofStore.open(db, media, key.copyOf()).use { it.rekey(newKey.copyOf()) }
            assertFailsWith<ApiException.WrongKey> { SiteproofStore.open(db, media, key.copyOf()) }
            SiteproofStore.open(db, media, newKey.copyOf()).close()
        }

        test("a store from a newer app is refused with NeedsNewerApp") {
            val dir = tempDir("newer-")
            val db = java.io.File(dir, "siteproof.db")
            SiteproofStore.open(db.path, java.io.File(dir, "media").path, null).close()
            // Bump the schema version the way a newer app would.
            val process = ProcessBuilder("python3", "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=999'); c.commit()",
                db.path).inheritIO().start()
            assertEquals(0, process.waitFor())
            assertFailsWith<ApiException.NeedsNewerApp> {
                SiteproofStore.open(db.path, java.io.File(dir, "media").path, null)
            }
        }
    }
}
