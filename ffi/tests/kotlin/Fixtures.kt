// Devices and captures for the suites, built the way the Android app builds them.

package org.siteproof.tests

import java.awt.Color
import java.awt.image.BufferedImage
import java.io.File
import java.util.Random
import javax.imageio.ImageIO
import org.siteproof.core.AnswerInput
import org.siteproof.core.AnswerValue
import org.siteproof.core.MediaCapture
import org.siteproof.core.MediaKind
import org.siteproof.core.NewVisit
import org.siteproof.core.Profile
import org.siteproof.core.Sector
import org.siteproof.core.Site
import org.siteproof.core.SiteproofStore
import org.siteproof.core.TemplateRef
import org.siteproof.core.VisitMode

/** The template the suites capture with: 16 pass/fail items, go-01 needs evidence. */
const val GAS_TEMPLATE = "gas-operator-major"

/** One phone: its store and media folder in the app's private storage. */
class Device(val name: String, val dir: File = tempDir("device-$name-")) : AutoCloseable {
    /** The app hands in the key it keeps in the Android Keystore: the store is encrypted at rest. */
    private val key = ByteArray(32) { it.toByte() }
    var store: SiteproofStore = open()
        private set

    private fun open() = SiteproofStore.open(
        File(dir, "siteproof.db").path, File(dir, "media").path, key,
    )

    /** Closes and reopens the store, as after the app was killed. */
    fun reopen() {
        store.close()
        store = open()
    }

    /** Signs the inspector in (the scope comes with enrollment). */
    fun signIn(inspector: String) {
        store.setProfile(Profile(inspector, store.profile().scope))
    }

    /** Enrolls with the test server using a fresh code. */
    fun enroll() = store.enroll(Server.url, Server.enrollCode(), "phone $name")

    /** Installs a template from the repository's criteria library (no server needed). */
    fun installTemplate(id: String = GAS_TEMPLATE): String =
        store.installTemplateJson(File(repoRoot, "content/templates/$id.json").readText())

    /** Starts a covert visit to a gas station with the gas template. */
    fun startCovertVisit(site: String = "某燃气站"): String = store.createVisit(
        NewVisit(
            site = Site(name = site, address = "石家庄市长安区", sector = Sector.GAS),
            mode = VisitMode.COVERT,
            team = listOf(name),
            template = TemplateRef(GAS_TEMPLATE, 1u),
        ),
    )

    fun answer(visit: String, item: String, value: AnswerValue, note: String? = null, media: List<String> = emptyList()) =
        store.answerItem(visit, item, AnswerInput(value, note, media))

    override fun close() = store.close()
}

val repoRoot: File = File(System.getenv("SITEPROOF_REPO") ?: ".").absoluteFile

/** A real JPEG, as CameraX would write it. */
fun photoFile(dir: File, seed: Int = 1): File {
    val image = BufferedImage(640, 480, BufferedImage.TYPE_INT_RGB)
    val g = image.createGraphics()
    g.color = Color(seed * 40 % 255, 120, 200)
    g.fillRect(0, 0, 640, 480)
    g.color = Color.WHITE
    g.drawString("evidence $seed", 20, 40)
    g.dispose()
    return File(dir, "photo-$seed.jpg").also { ImageIO.write(image, "jpg", it) }
}

/** A stand-in for recorded footage: `size` random bytes. */
fun footageFile(dir: File, size: Int, seed: Long = 7): File {
    val bytes = ByteArray(size).also { Random(seed).nextBytes(it) }
    return File(dir, "footage-$seed.mp4").also { it.writeBytes(bytes) }
}

val photoCapture = MediaCapture(kind = MediaKind.PHOTO, mime = "image/jpeg")
val videoCapture = MediaCapture(kind = MediaKind.VIDEO, mime = "video/mp4")
