package org.siteproof.demo.work

import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.ServiceInfo
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.work.CoroutineWorker
import androidx.work.ForegroundInfo
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import org.siteproof.core.ApiException
import org.siteproof.core.VisitMode
import org.siteproof.demo.R
import org.siteproof.demo.SiteproofApplication
import org.siteproof.demo.logic.SyncStatus
import org.siteproof.demo.logic.UploadPlan
import org.siteproof.demo.logic.UploadProgressBoard
import org.siteproof.demo.logic.workOutcomeOf

/**
 * Uploads queued evidence. Syncs first: the server takes a file only for a record it holds.
 *
 * During a covert visit the work shows nothing and makes no sound: no foreground service
 * (which would need a visible notification), so the system may stop it after ~10 minutes;
 * the core keeps every acknowledged chunk and the retry resumes there. Outside covert visits
 * it runs as a foreground service with a silent progress notification, so hours of footage
 * are not cut off.
 */
class UploadWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val repository = (applicationContext as SiteproofApplication).repository()
        if (repository.sync() !is SyncStatus.Synced) return Result.retry()
        val covert = repository.visits.value.any { it.mode == VisitMode.COVERT && it.endedAt == null }
        val plan = UploadPlan.forMode(covert)
        if (plan.foreground) setForeground(foregroundInfo(0.0))
        val board = UploadProgressBoard()
        return try {
            val summary = repository.uploadPending(Background.currentNetwork(applicationContext)) { hash, done, total ->
                board.report(hash, done, total)
                setProgressAsync(workDataOf(PROGRESS to board.overall()))
                if (plan.showNotification) showProgress(board.overall())
            }
            workOutcomeOf(summary).toResult()
        } catch (e: ApiException) {
            workOutcomeOf(e).toResult()
        }
    }

    override suspend fun getForegroundInfo(): ForegroundInfo = foregroundInfo(0.0)

    private fun foregroundInfo(progress: Double): ForegroundInfo {
        val notification = notification(progress)
        return if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            ForegroundInfo(NOTIFICATION_ID, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
        } else {
            ForegroundInfo(NOTIFICATION_ID, notification)
        }
    }

    private fun showProgress(progress: Double) {
        applicationContext.getSystemService(NotificationManager::class.java).notify(NOTIFICATION_ID, notification(progress))
    }

    private fun notification(progress: Double): android.app.Notification {
        val manager = applicationContext.getSystemService(NotificationManager::class.java)
        // IMPORTANCE_LOW: no sound, no vibration, no heads-up.
        val channel = NotificationChannel(CHANNEL, applicationContext.getString(R.string.upload_channel), NotificationManager.IMPORTANCE_LOW)
        channel.setSound(null, null)
        channel.enableVibration(false)
        manager.createNotificationChannel(channel)
        return NotificationCompat.Builder(applicationContext, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_sys_upload)
            .setContentTitle(applicationContext.getString(R.string.upload_channel))
            .setProgress(1000, (progress * 1000).toInt(), false)
            .setOngoing(true)
            .setSilent(true)
            .build()
    }

    companion object {
        const val PROGRESS = "progress"
        private const val CHANNEL = "uploads"
        private const val NOTIFICATION_ID = 42
    }
}
