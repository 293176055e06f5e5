package org.siteproof.demo.logic

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import org.siteproof.core.ApiException
import org.siteproof.core.UploadProblem
import org.siteproof.core.UploadSummary

object BackgroundSuite : Suite() {
    init {
        test("during a covert visit uploads run with no notification, no sound, no foreground service") {
            assertEquals(UploadPlan(foreground = false, showNotification = false, sound = false), UploadPlan.forMode(true))
            val open = UploadPlan.forMode(false)
            assertFalse(open.sound)
            assertEquals(true, open.showNotification)
        }

        test("files left over or transient failures retry; refusals of the content do not") {
            val done = UploadSummary(listOf("a"), emptyList(), emptyList(), 0u, 10uL)
            val left = done.copy(deferred = listOf(UploadProblem("b", "503")))
            assertEquals(WorkOutcome.Success, workOutcomeOf(done))
            assertEquals(WorkOutcome.Retry, workOutcomeOf(left))
            assertEquals(WorkOutcome.Retry, workOutcomeOf(ApiException.Network("reset")))
            assertEquals(WorkOutcome.Retry, workOutcomeOf(ApiException.Cancelled()))
            assertEquals(WorkOutcome.Failure, workOutcomeOf(ApiException.Unauthorized("revoked")))
            assertEquals(WorkOutcome.Retry, workOutcomeOf(ApiException.ServerRefused(503u, "busy", "")))
            assertEquals(WorkOutcome.Failure, workOutcomeOf(ApiException.ServerRefused(400u, "malformed", "")))
        }

        test("the progress board adds up bytes over files") {
            val board = UploadProgressBoard()
            assertEquals(0.0, board.overall())
            board.report("a", 50, 100)
            board.report("b", 0, 100)
            assertEquals(0.25, board.overall())
            board.report("b", 100, 100)
            assertEquals(0.75, board.overall())
        }
    }
}

object KeySuite : Suite() {
    init {
        test("the store key is made once, kept wrapped, and useless without the wrapping key") {
            val dir = tempDir("key-")
            val file = java.io.File(dir, "store-key.bin")
            val gen = javax.crypto.KeyGenerator.getInstance("AES").apply { init(256) }
            val wrapping = gen.generateKey()
            val key = StoreKeyFile(file, wrapping).loadOrCreate()
            assertEquals(32, key.size)
            kotlin.test.assertContentEquals(key, StoreKeyFile(file, wrapping).loadOrCreate())
            kotlin.test.assertFalse(file.readBytes().asList().windowed(32).any { it == key.asList() })
            kotlin.test.assertFailsWith<javax.crypto.AEADBadTagException> {
                StoreKeyFile(file, gen.generateKey()).loadOrCreate()
            }
        }
    }
}
