plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "org.siteproof.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.siteproof.demo"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
        // The sync server the demo enrolls with; 10.0.2.2 is the host seen from the emulator.
        buildConfigField("String", "DEFAULT_SERVER", "\"http://10.0.2.2:8080\"")
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    buildFeatures {
        compose = true
        buildConfig = true
    }
}

dependencies {
    implementation(project(":core-logic"))
    // JNA with its Android native parts (libjnidispatch.so per ABI).
    implementation("net.java.dev.jna:jna:${libs.versions.jna.get()}@aar")
    implementation(libs.kotlinx.coroutines.android)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.material3)
    implementation(libs.compose.ui.tooling.preview)
    implementation(libs.activity.compose)
    implementation(libs.lifecycle.viewmodel.compose)
    implementation(libs.lifecycle.runtime.compose)
    implementation(libs.camerax.camera2)
    implementation(libs.camerax.lifecycle)
    implementation(libs.camerax.video)
    implementation(libs.camerax.view)
    implementation(libs.work.runtime.ktx)
}

// The Rust library for each ABI, built with cargo-ndk into src/main/jniLibs. Opt in with
// `-Psiteproof.buildRust=true` (otherwise run the command from README.md yourself).
val repoRoot = rootDir.resolve("..")
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", projectDir.resolve("src/main/jniLibs").path,
        "build", "-p", "siteproof-ffi", "--release",
    )
}
val generateBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("ffi/build-bindings.sh")
}
if (providers.gradleProperty("siteproof.buildRust").orNull == "true") {
    tasks.named("preBuild") { dependsOn(cargoNdk, generateBindings) }
}
