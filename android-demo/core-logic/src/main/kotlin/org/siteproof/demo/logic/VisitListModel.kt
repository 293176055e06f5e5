package org.siteproof.demo.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.siteproof.core.ApiException
import org.siteproof.core.Sector
import org.siteproof.core.Site
import org.siteproof.core.TemplateRef
import org.siteproof.core.TemplateSummary
import org.siteproof.core.VisitMode
import org.siteproof.core.VisitSummary

/** One line of the visit list. */
data class VisitRow(
    val id: String,
    val site: String,
    val covert: Boolean,
    val startedAt: Long,
    val finished: Boolean,
    val answered: Int,
    val majorFindings: Int,
    val generalFindings: Int,
    val conflicts: Int,
) {
    companion object {
        fun of(v: VisitSummary) = VisitRow(
            id = v.id,
            site = v.siteName,
            covert = v.mode == VisitMode.COVERT,
            startedAt = v.startedAt,
            finished = v.endedAt != null,
            answered = v.answered.toInt(),
            majorFindings = v.majorFindings.toInt(),
            generalFindings = v.generalFindings.toInt(),
            conflicts = v.conflicts.toInt(),
        )
    }
}

/** What the visit list screen shows. */
data class VisitListState(
    val rows: List<VisitRow> = emptyList(),
    val templates: List<TemplateSummary> = emptyList(),
    val sync: SyncStatus = SyncStatus.Idle,
    val pendingChanges: Long = 0,
    val pendingUploads: Int = 0,
    val error: String? = null,
) {
    /** A covert visit is under way: the app makes no sound and shows no notification. */
    val covertInProgress: Boolean get() = rows.any { it.covert && !it.finished }
}

/**
 * The visit list screen's state and actions. On Android an `androidx.lifecycle.ViewModel`
 * holds one and passes its `viewModelScope`.
 */
class VisitListModel(private val repo: InspectionRepository, private val scope: CoroutineScope) {
    private val _state = MutableStateFlow(VisitListState())
    val state: StateFlow<VisitListState> = _state.asStateFlow()

    init {
        scope.launch { repo.visits.collect { list -> _state.update { it.copy(rows = list.map(VisitRow::of)) } } }
        scope.launch { repo.syncStatus.collect { s -> _state.update { it.copy(sync = s) } } }
    }

    fun refresh() = scope.launch { guarded { reload() } }

    fun sync() = scope.launch {
        repo.sync()
        guarded { reload() }
    }

    /** Starts a covert visit with [template]; [onStarted] gets the new visit's id. */
    fun startCovertVisit(
        siteName: String,
        address: String,
        sector: Sector,
        template: TemplateRef,
        team: List<String>,
        onStarted: (String) -> Unit,
    ) = scope.launch {
        guarded {
            require(siteName.isNotBlank()) { "site name is empty" }
            val id = repo.startCovertVisit(Site(siteName.trim(), null, address.trim(), sector), template, team)
            reload()
            onStarted(id)
        }
    }

    fun dismissError() = _state.update { it.copy(error = null) }

    private suspend fun reload() {
        repo.refresh()
        val templates = repo.templates()
        val changes = repo.pendingChanges()
        val uploads = repo.pendingUploads()
        _state.update { it.copy(templates = templates, pendingChanges = changes, pendingUploads = uploads, error = null) }
    }

    private suspend fun guarded(block: suspend () -> Unit) {
        try {
            block()
        } catch (e: ApiException) {
            _state.update { it.copy(error = userMessage(e)) }
        } catch (e: IllegalArgumentException) {
            _state.update { it.copy(error = e.message) }
        }
    }
}

/** A short message for the inspector; the details stay in the log. */
fun userMessage(e: ApiException): String = when (e) {
    is ApiException.NotFound -> "Not found: the list may be out of date."
    is ApiException.InvalidInput -> "That entry does not fit this item."
    is ApiException.Network -> "No connection. Everything is saved on the phone."
    is ApiException.Unauthorized -> "This phone must be enrolled again."
    is ApiException.Storage -> "The phone's storage failed. Free some space and try again."
    is ApiException.NeedsNewerApp -> "Update the app to open this data."
    else -> "Something went wrong; it has been logged."
}
