// Entry point of the Kotlin binding tests (run by ffi/tests/run-kotlin.sh).

package org.siteproof.tests

fun main() = runSuites(CaptureSuite, DirectorySuite, ErrorSuite, MediaSuite, PeerSuite, ReinspectionSuite, SyncSuite, UploadSuite)
