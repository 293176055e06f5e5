package org.siteproof.demo.logic

import org.siteproof.core.ApiException
import org.siteproof.core.SyncSummary

/** What the sync indicator shows. */
sealed interface SyncStatus {
    /** Not synced since the app started. */
    data object Idle : SyncStatus

    /** A sync is running. */
    data object Syncing : SyncStatus

    /** The last sync completed at [atMillis]. */
    data class Synced(val summary: SyncSummary, val atMillis: Long) : SyncStatus

    /** No connection: the normal case on site; captures are safe on the phone. */
    data class Offline(val reason: String) : SyncStatus

    /** Not enrolled, or the server no longer accepts this phone: enroll with a new code. */
    data object NeedsEnrollment : SyncStatus

    /** The server refused for another reason; shown to the inspector, retried later. */
    data class Failed(val reason: String) : SyncStatus

    companion object {
        /** Sorts a failed sync by what the inspector can do about it. */
        fun of(e: ApiException): SyncStatus = when (e) {
            is ApiException.Network -> Offline(e.reason)
            is ApiException.Unauthorized -> NeedsEnrollment
            is ApiException.NotFound -> NeedsEnrollment
            else -> Failed(e.message ?: e.toString())
        }
    }
}
