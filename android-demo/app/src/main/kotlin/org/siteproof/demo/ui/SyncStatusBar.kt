package org.siteproof.demo.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import org.siteproof.demo.logic.SyncStatus

/** One line: what is waiting for the server, and how the last sync went. */
@Composable
fun SyncStatusBar(status: SyncStatus, pendingChanges: Long, pendingUploads: Int, onSync: () -> Unit) {
    val text = when (status) {
        SyncStatus.Idle -> "Not synced yet"
        SyncStatus.Syncing -> "Syncing…"
        is SyncStatus.Synced -> "Synced: ${status.summary.pushed} sent, ${status.summary.pulled} received"
        is SyncStatus.Offline -> "Offline — everything is saved on this phone"
        SyncStatus.NeedsEnrollment -> "Enroll this phone to sync"
        is SyncStatus.Failed -> "Sync refused: ${status.reason}"
    }
    Row(
        Modifier.fillMaxWidth().padding(horizontal = 12.dp),
        horizontalArrangement = Arrangement.SpaceBetween,
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Text(
            "$text · $pendingChanges changes, $pendingUploads files waiting",
            style = MaterialTheme.typography.bodySmall,
            modifier = Modifier.weight(1f),
        )
        TextButton(onClick = onSync, enabled = status != SyncStatus.Syncing) { Text("Sync") }
    }
}
