package org.siteproof.demo.ui

import android.content.Context
import androidx.compose.runtime.Composable
import androidx.compose.ui.platform.LocalContext
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import org.siteproof.demo.logic.ChecklistModel
import org.siteproof.demo.logic.InspectionRepository
import org.siteproof.demo.logic.VisitListModel
import org.siteproof.demo.work.Background

/** Android's lifecycle around the plain-Kotlin models (tested on the JVM in core-logic). */
class VisitListViewModel(repository: InspectionRepository) : ViewModel() {
    val model = VisitListModel(repository, viewModelScope)
}

class ChecklistViewModel(repository: InspectionRepository, visit: String, app: Context) : ViewModel() {
    /** Each capture schedules an upload; WorkManager waits for a connection. */
    val model = ChecklistModel(repository, visit, viewModelScope) { Background.scheduleUpload(app) }
}

@Composable
fun visitListModel(repository: InspectionRepository): VisitListModel =
    viewModel<VisitListViewModel>(factory = viewModelFactory { initializer { VisitListViewModel(repository) } }).model

@Composable
fun checklistModel(repository: InspectionRepository, visit: String): ChecklistModel {
    val app = LocalContext.current.applicationContext
    return viewModel<ChecklistViewModel>(
        key = "checklist-$visit",
        factory = viewModelFactory { initializer { ChecklistViewModel(repository, visit, app) } },
    ).model
}
