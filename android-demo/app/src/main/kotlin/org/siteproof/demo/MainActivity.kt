package org.siteproof.demo

import android.os.Bundle
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.BackHandler
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import org.siteproof.demo.logic.InspectionRepository
import org.siteproof.demo.ui.CameraScreen
import org.siteproof.demo.ui.ChecklistScreen
import org.siteproof.demo.ui.EnrollScreen
import org.siteproof.demo.ui.MergeScreen
import org.siteproof.demo.ui.FindingsScreen
import org.siteproof.demo.ui.VisitListScreen

/** Where the app is. Kept small: a real app would use navigation-compose. */
sealed interface Screen {
    data object Visits : Screen
    data object Enroll : Screen
    data object Merge : Screen
    data class Checklist(val visit: String) : Screen
    data class Findings(val visit: String) : Screen
    data class Camera(val visit: String, val item: String?) : Screen
}

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // No screenshots, no preview in the recent-apps list: a covert visit stays covert.
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        val app = application as SiteproofApplication
        setContent {
            MaterialTheme {
                // The store opens off the main thread; the first frame is empty for those ms.
                val repository by produceState<InspectionRepository?>(null) { value = app.repository() }
                repository?.let { SiteproofApp(it) }
            }
        }
    }
}

@Composable
private fun SiteproofApp(repository: InspectionRepository) {
    var screen by remember { mutableStateOf<Screen>(Screen.Visits) }
    BackHandler(enabled = screen != Screen.Visits) {
        screen = when (val s = screen) {
            is Screen.Camera -> Screen.Checklist(s.visit)
            is Screen.Findings -> Screen.Checklist(s.visit)
            else -> Screen.Visits
        }
    }
    when (val s = screen) {
        Screen.Visits -> VisitListScreen(
            repository,
            onOpen = { screen = Screen.Checklist(it) },
            onEnroll = { screen = Screen.Enroll },
            onMerge = { screen = Screen.Merge },
        )
        Screen.Enroll -> EnrollScreen(repository, onDone = { screen = Screen.Visits })
        Screen.Merge -> MergeScreen(repository, onDone = { screen = Screen.Visits })
        is Screen.Checklist -> ChecklistScreen(
            repository,
            s.visit,
            onCamera = { item -> screen = Screen.Camera(s.visit, item) },
            onFindings = { screen = Screen.Findings(s.visit) },
            onBack = { screen = Screen.Visits },
        )
        is Screen.Findings -> FindingsScreen(repository, s.visit, onBack = { screen = Screen.Checklist(s.visit) })
        is Screen.Camera -> CameraScreen(repository, s.visit, s.item, onDone = { screen = Screen.Checklist(s.visit) })
    }
}
