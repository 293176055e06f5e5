package org.siteproof.demo.logic

import org.siteproof.core.ApiException
import org.siteproof.core.UploadSummary

/**
 * How background upload work runs. During a covert visit nothing may be seen or heard: no
 * notification, so no foreground service (Android requires a visible notification for one);
 * the work runs in ordinary, interruptible windows and resumes where it stopped.
 */
data class UploadPlan(val foreground: Boolean, val showNotification: Boolean, val sound: Boolean) {
    companion object {
        fun forMode(covertInProgress: Boolean) = if (covertInProgress) {
            UploadPlan(foreground = false, showNotification = false, sound = false)
        } else {
            // Even announced visits stay silent: a progress bar, never a chime.
            UploadPlan(foreground = true, showNotification = true, sound = false)
        }
    }
}

/** What a background worker reports to its scheduler. */
enum class WorkOutcome { Success, Retry, Failure }

/** Files still to go, or a transient failure, ask for a retry with back-off. */
fun workOutcomeOf(summary: UploadSummary): WorkOutcome =
    if (summary.deferred.isNotEmpty()) WorkOutcome.Retry else WorkOutcome.Success

fun workOutcomeOf(e: ApiException): WorkOutcome = when (e) {
    is ApiException.Network, is ApiException.Cancelled, is ApiException.Storage -> WorkOutcome.Retry
    is ApiException.ServerRefused -> if (e.status.toInt() >= 500) WorkOutcome.Retry else WorkOutcome.Failure
    else -> WorkOutcome.Failure
}

/** Upload progress for the sync status screen, as fractions per file. */
class UploadProgressBoard {
    private val files = linkedMapOf<String, Pair<Long, Long>>()

    @Synchronized
    fun report(hash: String, done: Long, total: Long) {
        files[hash] = done to total
    }

    /** Fraction done over all files reported so far (0 when none). */
    @Synchronized
    fun overall(): Double {
        val total = files.values.sumOf { it.second }
        return if (total == 0L) 0.0 else files.values.sumOf { it.first }.toDouble() / total
    }

    @Synchronized
    fun snapshot(): Map<String, Pair<Long, Long>> = LinkedHashMap(files)
}
