// Runs the core-logic tests without JUnit (here: kotlinc + java; in Gradle: the `jvmTest`
// task). Each suite registers named tests; the last line is `N passed, M failed`.

package org.siteproof.demo.logic

import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.siteproof.core.SiteproofStore

open class Suite {
    val tests = mutableListOf<Pair<String, () -> Unit>>()

    fun test(name: String, body: suspend CoroutineScope.() -> Unit) {
        tests += name to { runBlocking { body() } }
    }
}

fun main() {
    var passed = 0
    var failed = 0
    for ((name, body) in listOf(RepositorySuite, ModelSuite, BackgroundSuite, KeySuite, MergeSuite).flatMap { it.tests }) {
        try {
            body()
            passed++
            println("PASS $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
            e.printStackTrace(System.out)
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}

val repoRoot = File(System.getenv("SITEPROOF_REPO") ?: "../..").absoluteFile

private val scratch = File(System.getenv("SITEPROOF_SCRATCH") ?: System.getProperty("java.io.tmpdir")).also { it.mkdirs() }

fun tempDir(prefix: String): File = Files.createTempDirectory(scratch.toPath(), prefix).toFile()

/**
 * A phone's repository over a fresh store. Offline phones get the gas template installed
 * locally; enrolled ones receive it by sync (a local copy of a template the server also
 * publishes would clash with it).
 */
fun newRepository(name: String, enrolled: Boolean = false): InspectionRepository {
    val dir = tempDir("$name-")
    val store = SiteproofStore.open(File(dir, "siteproof.db").path, File(dir, "media").path, ByteArray(32))
    if (enrolled) {
        store.enroll(TestServer.url, TestServer.enrollCode(), "demo phone $name")
        store.sync()
    } else {
        store.installTemplateJson(File(repoRoot, "content/templates/gas-operator-major.json").readText())
    }
    return InspectionRepository(store, Dispatchers.IO)
}

/** A scope for a model under test, cancelled when [block] ends. */
suspend fun <T> withModelScope(block: suspend (CoroutineScope) -> T): T {
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    try {
        return block(scope)
    } finally {
        scope.cancel()
    }
}

/** Waits (at most 10 s) until [flow]'s value satisfies [predicate], and returns it. */
suspend fun <T> StateFlow<T>.await(predicate: (T) -> Boolean): T = withTimeout(10_000) { first(predicate) }

/** The test server (started by the test script) and its admin command. */
object TestServer {
    val url: String get() = System.getenv("SITEPROOF_URL") ?: error("SITEPROOF_URL is not set")

    fun enrollCode(): String {
        val bin = System.getenv("SITEPROOF_BIN") ?: error("SITEPROOF_BIN is not set")
        val process = ProcessBuilder(bin, "admin", "--data", System.getenv("SITEPROOF_DATA"), "enroll-code", "--group", "g1")
            .redirectError(ProcessBuilder.Redirect.DISCARD).start()
        val code = process.inputStream.bufferedReader().readText().trim()
        check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) { "enroll-code failed" }
        return code
    }
}
