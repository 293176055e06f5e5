// A small test harness for the JVM: no JUnit or Gradle here, so each suite registers named
// tests, `main` runs them all and prints one line per test and `N passed, M failed` last.

package org.siteproof.tests

import java.io.File
import java.nio.file.Files
import java.security.MessageDigest
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess

/** A named test body. */
class TestCase(val name: String, val body: () -> Unit)

/** Collects tests: `test("does what") { ... }`. */
open class Suite {
    val tests = mutableListOf<TestCase>()

    fun test(name: String, body: () -> Unit) {
        tests += TestCase(name, body)
    }
}

/** Runs every test of every suite and exits non-zero if any failed. */
fun runSuites(vararg suites: Suite) {
    var passed = 0
    var failed = 0
    for (case in suites.flatMap { it.tests }) {
        val started = System.nanoTime()
        try {
            case.body()
            passed++
            println("PASS ${case.name} (${(System.nanoTime() - started) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL ${case.name}: $e")
            e.printStackTrace(System.out)
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}

/** A fresh folder under the test run's scratch directory. */
fun tempDir(prefix: String): File = Files.createTempDirectory(scratch.toPath(), prefix).toFile()

private val scratch: File by lazy {
    File(System.getenv("SITEPROOF_SCRATCH") ?: System.getProperty("java.io.tmpdir")).also { it.mkdirs() }
}

/** SHA-256 of a file, as the core names media: 64 lowercase hex digits. */
fun sha256Hex(file: File): String {
    val digest = MessageDigest.getInstance("SHA-256")
    file.inputStream().use { input ->
        val buf = ByteArray(1 shl 16)
        while (true) {
            val n = input.read(buf)
            if (n < 0) break
            digest.update(buf, 0, n)
        }
    }
    return digest.digest().joinToString("") { "%02x".format(it) }
}

/** The real server the test script started, and its admin command. */
object Server {
    val url: String = env("SITEPROOF_URL")
    val group: String = env("SITEPROOF_GROUP")
    private val bin: String = env("SITEPROOF_BIN")
    private val data: String = env("SITEPROOF_DATA")

    /** A fresh one-time enrollment code for the test group. */
    fun enrollCode(): String = admin("enroll-code", "--group", group).trim()

    /** Revokes a device: its token stops working at once. */
    fun revoke(deviceId: String) {
        admin("device", "revoke", deviceId)
    }

    /** Adds an office reviewer of the test region with `password`. */
    fun addOfficeUser(login: String, password: String) {
        admin("user", "add", "--login", login, "--name", login, "--role", "reviewer",
            "--region", "hebei", env = mapOf("SITEPROOF_USER_PASSWORD" to password))
    }

    private fun admin(vararg args: String, env: Map<String, String> = emptyMap()): String {
        val builder = ProcessBuilder(listOf(bin, "admin", "--data", data) + args)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
        builder.environment().putAll(env)
        val process = builder.start()
        val out = process.inputStream.bufferedReader().readText()
        check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) {
            "siteproof admin ${args.joinToString(" ")} failed"
        }
        return out
    }

    private fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set: run ffi/tests/run-kotlin.sh")
}
