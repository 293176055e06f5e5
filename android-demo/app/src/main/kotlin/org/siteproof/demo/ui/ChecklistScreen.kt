package org.siteproof.demo.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Card
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
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
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.siteproof.core.AnswerValue
import org.siteproof.demo.logic.ChecklistModel
import org.siteproof.demo.logic.ChecklistRow
import org.siteproof.demo.logic.InspectionRepository

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun ChecklistScreen(
    repository: InspectionRepository,
    visit: String,
    onCamera: (item: String?) -> Unit,
    onFindings: () -> Unit,
    onBack: () -> Unit,
) {
    val model = checklistModel(repository, visit)
    val state by model.state.collectAsStateWithLifecycle()
    LaunchedEffect(visit) { model.load() }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(state.visit?.site?.name ?: "") },
                navigationIcon = { TextButton(onClick = onBack) { Text("Back") } },
                actions = {
                    TextButton(onClick = { onCamera(null) }) { Text("Camera") }
                    TextButton(onClick = onFindings) { Text("Findings (${state.findings.size})") }
                },
            )
        },
    ) { padding ->
        Column(Modifier.padding(padding)) {
            Text(
                "${state.answered}/${state.rows.size} answered" +
                    if (state.missingEvidence.isNotEmpty()) " · ${state.missingEvidence.size} need evidence" else "",
                modifier = Modifier.padding(horizontal = 12.dp),
            )
            state.error?.let { ErrorLine(it, model::dismissError) }
            LazyColumn(verticalArrangement = Arrangement.spacedBy(8.dp), modifier = Modifier.padding(12.dp)) {
                items(state.rows, key = { it.item.id }) { row -> ItemCard(row, model, onPhoto = { onCamera(row.item.id) }) }
                item {
                    if (state.visit?.endedAt == null) {
                        TextButton(onClick = model::finish) { Text("Finish visit") }
                    }
                }
            }
        }
    }
}

@Composable
private fun ItemCard(row: ChecklistRow, model: ChecklistModel, onPhoto: () -> Unit) {
    var note by remember(row.answer?.note) { mutableStateOf(row.answer?.note ?: "") }
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            Text(row.item.text.zh, style = MaterialTheme.typography.bodyLarge)
            Text("${row.item.criterion.document} ${row.item.criterion.clause}", style = MaterialTheme.typography.bodySmall)
            if (row.conflicted) {
                Text("Answered differently on another phone: answer again to settle it.", color = MaterialTheme.colorScheme.tertiary)
            }
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                FilterChip(row.answer?.value == AnswerValue.Pass, { model.pass(row.item.id) }, label = { Text("Pass") })
                FilterChip(row.failed, { model.fail(row.item.id, note.ifBlank { null }) }, label = { Text("Fail") })
                FilterChip(row.answer?.value == AnswerValue.NotApplicable, { model.notApplicable(row.item.id) }, label = { Text("N/A") })
                TextButton(onClick = onPhoto) { Text("Photo (${row.answer?.media?.size ?: 0})") }
            }
            if (row.needsEvidence) Text("This criterion needs photo or video evidence.", color = MaterialTheme.colorScheme.error)
            if (row.answer != null) {
                OutlinedTextField(
                    value = note,
                    onValueChange = { note = it },
                    label = { Text("Note") },
                    modifier = Modifier.fillMaxWidth(),
                    trailingIcon = {
                        if (note != (row.answer?.note ?: "")) TextButton(onClick = { model.setNote(row.item.id, note) }) { Text("Save") }
                    },
                )
            }
        }
    }
}
