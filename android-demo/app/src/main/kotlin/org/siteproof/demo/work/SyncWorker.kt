package org.siteproof.demo.work

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import org.siteproof.demo.SiteproofApplication
import org.siteproof.demo.logic.SyncStatus

/** Pushes captures and pulls the group's updates; then lets the uploader run if files wait. */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val repository = (applicationContext as SiteproofApplication).repository()
        return when (repository.sync()) {
            is SyncStatus.Synced -> {
                if (repository.pendingUploads() > 0) Background.scheduleUpload(applicationContext)
                Result.success()
            }
            is SyncStatus.Offline -> Result.retry()
            // Enrollment needs the inspector; a refusal is shown in the app.
            else -> Result.success()
        }
    }
}
