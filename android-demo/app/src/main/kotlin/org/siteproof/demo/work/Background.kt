package org.siteproof.demo.work

import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.ListenableWorker
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import java.util.concurrent.TimeUnit
import org.siteproof.core.Network
import org.siteproof.demo.logic.WorkOutcome

/** Schedules the background work: a periodic sync, and uploads after each capture. */
object Background {
    private val online = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

    /** Syncs every 15 minutes (the platform's minimum) whenever there is a connection. */
    fun schedulePeriodicSync(context: Context) {
        val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
            .setConstraints(online)
            .build()
        WorkManager.getInstance(context).enqueueUniquePeriodicWork("sync", ExistingPeriodicWorkPolicy.KEEP, request)
    }

    /**
     * Uploads what is queued once there is a connection. A run already going keeps going; this
     * one follows it, so evidence captured during a run is not left for the next period.
     */
    fun scheduleUpload(context: Context) {
        val request = OneTimeWorkRequestBuilder<UploadWorker>()
            .setConstraints(online)
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
            .build()
        WorkManager.getInstance(context).enqueueUniqueWork("upload", ExistingWorkPolicy.APPEND_OR_REPLACE, request)
    }

    /** The network the phone is on now, in the core's terms (large files wait for Wi-Fi). */
    fun currentNetwork(context: Context): Network {
        val connectivity = context.getSystemService(ConnectivityManager::class.java)
        val caps = connectivity.getNetworkCapabilities(connectivity.activeNetwork) ?: return Network.OFFLINE
        return when {
            !caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) -> Network.OFFLINE
            caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) -> Network.UNMETERED
            else -> Network.METERED
        }
    }
}

fun WorkOutcome.toResult(): ListenableWorker.Result = when (this) {
    WorkOutcome.Success -> ListenableWorker.Result.success()
    WorkOutcome.Retry -> ListenableWorker.Result.retry()
    WorkOutcome.Failure -> ListenableWorker.Result.failure()
}
