package org.siteproof.demo.ui

import android.os.Build
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.launch
import org.siteproof.core.ApiException
import org.siteproof.demo.BuildConfig
import org.siteproof.demo.logic.InspectionRepository
import org.siteproof.demo.logic.userMessage

/** Enrollment with the one-time code from `siteproof admin enroll-code`, then a first sync. */
@Composable
fun EnrollScreen(repository: InspectionRepository, onDone: () -> Unit) {
    var server by remember { mutableStateOf(BuildConfig.DEFAULT_SERVER) }
    var code by remember { mutableStateOf("") }
    var error by remember { mutableStateOf<String?>(null) }
    var busy by remember { mutableStateOf(false) }
    val scope = rememberCoroutineScope()
    Column(Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Enroll this phone", style = MaterialTheme.typography.headlineSmall)
        OutlinedTextField(server, { server = it }, label = { Text("Server") }, singleLine = true)
        OutlinedTextField(code, { code = it.uppercase() }, label = { Text("Enrollment code") }, singleLine = true)
        error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        Button(
            enabled = !busy && code.isNotBlank(),
            onClick = {
                busy = true
                scope.launch {
                    try {
                        repository.enroll(server.trim(), code.trim(), Build.MODEL)
                        repository.sync()
                        onDone()
                    } catch (e: ApiException) {
                        error = userMessage(e)
                    } finally {
                        busy = false
                    }
                }
            },
        ) { Text(if (busy) "Enrolling…" else "Enroll") }
    }
}
