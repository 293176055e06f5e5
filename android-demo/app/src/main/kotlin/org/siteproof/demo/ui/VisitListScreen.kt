package org.siteproof.demo.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Card
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.ExtendedFloatingActionButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import java.text.DateFormat
import java.util.Date
import org.siteproof.core.TemplateRef
import org.siteproof.core.TemplateSummary
import org.siteproof.demo.logic.InspectionRepository
import org.siteproof.demo.logic.VisitRow
import org.siteproof.demo.work.Background

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun VisitListScreen(
    repository: InspectionRepository,
    onOpen: (String) -> Unit,
    onEnroll: () -> Unit,
    onMerge: () -> Unit,
) {
    val model = visitListModel(repository)
    val state by model.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    var starting by remember { mutableStateOf(false) }
    LaunchedEffect(Unit) { model.refresh() }

    Scaffold(
        topBar = { TopAppBar(title = { Text("Visits") }, actions = {
                TextButton(onClick = onMerge) { Text("Merge") }
                TextButton(onClick = onEnroll) { Text("Enroll") }
            }) },
        floatingActionButton = {
            ExtendedFloatingActionButton(onClick = { starting = true }) { Text("Start covert visit") }
        },
    ) { padding ->
        Column(Modifier.padding(padding)) {
            SyncStatusBar(
                state.sync,
                state.pendingChanges,
                state.pendingUploads,
                onSync = {
                    model.sync()
                    Background.scheduleUpload(context)
                },
            )
            state.error?.let { ErrorLine(it, model::dismissError) }
            LazyColumn(verticalArrangement = Arrangement.spacedBy(8.dp), modifier = Modifier.padding(12.dp)) {
                items(state.rows, key = { it.id }) { row -> VisitCard(row, onClick = { onOpen(row.id) }) }
            }
        }
    }
    if (starting) {
        StartVisitDialog(
            templates = state.templates,
            onStart = { name, address, template ->
                starting = false
                model.startCovertVisit(name, address, template.sector, TemplateRef(template.id, template.version), emptyList(), onOpen)
            },
            onDismiss = { starting = false },
        )
    }
}

@Composable
private fun VisitCard(row: VisitRow, onClick: () -> Unit) {
    Card(Modifier.fillMaxWidth().clickable(onClick = onClick)) {
        Column(Modifier.padding(12.dp)) {
            Text(row.site, style = MaterialTheme.typography.titleMedium)
            Text(
                (if (row.covert) "暗访 covert" else "明查 announced") + " · " +
                    DateFormat.getDateTimeInstance(DateFormat.SHORT, DateFormat.SHORT).format(Date(row.startedAt)) +
                    if (row.finished) " · finished" else " · in progress",
                style = MaterialTheme.typography.bodySmall,
            )
            Row(horizontalArrangement = Arrangement.spacedBy(12.dp)) {
                Text("${row.answered} answered")
                Text("${row.majorFindings} major", color = MaterialTheme.colorScheme.error)
                Text("${row.generalFindings} general")
                if (row.conflicts > 0) Text("${row.conflicts} conflicts", color = MaterialTheme.colorScheme.tertiary)
            }
        }
    }
}

@Composable
private fun StartVisitDialog(
    templates: List<TemplateSummary>,
    onStart: (String, String, TemplateSummary) -> Unit,
    onDismiss: () -> Unit,
) {
    var name by remember { mutableStateOf("") }
    var address by remember { mutableStateOf("") }
    var template by remember { mutableStateOf(templates.firstOrNull()) }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text("Covert visit") },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                OutlinedTextField(name, { name = it }, label = { Text("Site") }, singleLine = true)
                OutlinedTextField(address, { address = it }, label = { Text("Address") }, singleLine = true)
                if (templates.isEmpty()) Text("No checklists yet: enroll and sync first.")
                LazyColumn(Modifier.padding(top = 4.dp)) {
                    items(templates, key = { "${it.id}@${it.version}" }) { t ->
                        Text(
                            (if (t == template) "● " else "○ ") + t.titleZh,
                            modifier = Modifier.fillMaxWidth().clickable { template = t }.padding(vertical = 6.dp),
                        )
                    }
                }
            }
        },
        confirmButton = {
            TextButton(enabled = name.isNotBlank() && template != null, onClick = { template?.let { onStart(name, address, it) } }) {
                Text("Start")
            }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}

@Composable
fun ErrorLine(message: String, onDismiss: () -> Unit) {
    Row(Modifier.fillMaxWidth().padding(horizontal = 12.dp), horizontalArrangement = Arrangement.SpaceBetween) {
        Text(message, color = MaterialTheme.colorScheme.error, modifier = Modifier.weight(1f))
        TextButton(onClick = onDismiss) { Text("OK") }
    }
}
