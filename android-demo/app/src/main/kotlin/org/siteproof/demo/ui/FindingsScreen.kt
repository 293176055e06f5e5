package org.siteproof.demo.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.Checkbox
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
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.siteproof.core.Severity
import org.siteproof.demo.logic.InspectionRepository

/** The visit's findings (hazards), and a form to record one. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun FindingsScreen(repository: InspectionRepository, visit: String, onBack: () -> Unit) {
    val model = checklistModel(repository, visit)
    val state by model.state.collectAsStateWithLifecycle()
    LaunchedEffect(visit) { model.load() }
    var description by remember { mutableStateOf("") }
    var measures by remember { mutableStateOf("") }
    var severity by remember { mutableStateOf(Severity.GENERAL) }
    var fixed by remember { mutableStateOf(false) }
    Scaffold(
        topBar = { TopAppBar(title = { Text("Findings") }, navigationIcon = { TextButton(onClick = onBack) { Text("Back") } }) },
    ) { padding ->
        LazyColumn(Modifier.padding(padding).padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            item {
                Column(verticalArrangement = Arrangement.spacedBy(6.dp)) {
                    OutlinedTextField(description, { description = it }, label = { Text("What was found") }, modifier = Modifier.fillMaxWidth())
                    Row(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
                        FilterChip(severity == Severity.MAJOR, { severity = Severity.MAJOR }, label = { Text("重大 major") })
                        FilterChip(severity == Severity.GENERAL, { severity = Severity.GENERAL }, label = { Text("一般 general") })
                        Checkbox(fixed, { fixed = it })
                        Text("fixed on the spot")
                    }
                    OutlinedTextField(measures, { measures = it }, label = { Text("Interim measures") }, modifier = Modifier.fillMaxWidth())
                    state.error?.let { ErrorLine(it, model::dismissError) }
                    Button(
                        enabled = description.isNotBlank(),
                        onClick = {
                            model.addFinding(description, severity, fixedOnSpot = fixed, interimMeasures = measures)
                            description = ""
                            measures = ""
                            fixed = false
                        },
                    ) { Text("Record finding") }
                }
            }
            items(state.findings, key = { it.id }) { finding ->
                Card(Modifier.fillMaxWidth()) {
                    Column(Modifier.padding(12.dp)) {
                        Text(
                            finding.description,
                            color = if (finding.severity == Severity.MAJOR) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface,
                        )
                        finding.interimMeasures?.let { Text("防控措施: $it", style = MaterialTheme.typography.bodySmall) }
                        if (finding.fixedOnSpot) Text("立行立改: fixed on the spot", style = MaterialTheme.typography.bodySmall)
                        Text("${finding.by} · ${finding.media.size} evidence", style = MaterialTheme.typography.bodySmall)
                    }
                }
            }
        }
    }
}
