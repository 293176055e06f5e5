// The app's non-UI layer: repository and screen models over the generated bindings. Plain
// Kotlin/JVM, so its tests run on any JVM (here, or `./gradlew :core-logic:check`).

plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin {
    jvmToolchain(17)
}

// The generated bindings (ffi/build-bindings.sh) are compiled into this module.
val bindings = rootDir.resolve("../target/bindings/kotlin")
sourceSets["main"].kotlin.srcDir(bindings)

dependencies {
    // The app brings JNA as an Android archive; the JVM tests bring the jar.
    compileOnly(libs.jna)
    implementation(libs.kotlinx.coroutines.core)
    testImplementation(libs.jna)
    testImplementation(libs.kotlin.test)
}

// The tests have their own small harness (no JUnit): run its `main`, like android-demo/test-jvm.sh.
// Needs the host library (ffi/build-bindings.sh) and a server: SITEPROOF_URL, SITEPROOF_BIN,
// SITEPROOF_DATA (android-demo/test-jvm.sh sets them up).
val jvmTest by tasks.registering(JavaExec::class) {
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("org.siteproof.demo.logic.HarnessKt")
    systemProperty("jna.library.path", rootDir.resolve("../target/debug").path)
    environment("SITEPROOF_REPO", rootDir.resolve("..").path)
}
tasks.named("check") { dependsOn(jvmTest) }
