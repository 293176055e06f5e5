package org.siteproof.demo.logic

import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.siteproof.core.Answer
import org.siteproof.core.AnswerValue
import org.siteproof.core.ApiException
import org.siteproof.core.Finding
import org.siteproof.core.NewFinding
import org.siteproof.core.Severity
import org.siteproof.core.TemplateItem
import org.siteproof.core.Visit

/** One checklist line: the item, its current answer, and what still needs doing. */
data class ChecklistRow(val item: TemplateItem, val answer: Answer?, val conflicted: Boolean) {
    val failed: Boolean get() = answer?.value == AnswerValue.Fail

    /** A failed item whose criterion asks for evidence, with none attached yet. */
    val needsEvidence: Boolean get() = item.evidenceRequired && failed && answer?.media.isNullOrEmpty()
}

/** What the checklist screen shows. */
data class ChecklistState(
    val visit: Visit? = null,
    val rows: List<ChecklistRow> = emptyList(),
    val findings: List<Finding> = emptyList(),
    val error: String? = null,
) {
    val answered: Int get() = rows.count { it.answer != null }
    val missingEvidence: List<ChecklistRow> get() = rows.filter { it.needsEvidence }
}

/**
 * The checklist, findings and camera screens of one visit. [onEvidenceAdded] runs after each
 * capture is stored (the app schedules an upload there).
 */
class ChecklistModel(
    private val repo: InspectionRepository,
    private val visitId: String,
    private val scope: CoroutineScope,
    private val onEvidenceAdded: () -> Unit = {},
) {
    private val _state = MutableStateFlow(ChecklistState())
    val state: StateFlow<ChecklistState> = _state.asStateFlow()

    fun load() = act { }

    fun pass(item: String) = answer(item, AnswerValue.Pass)

    fun notApplicable(item: String) = answer(item, AnswerValue.NotApplicable)

    /** Fails an item; the note says what the inspector saw. */
    fun fail(item: String, note: String? = null) = answer(item, AnswerValue.Fail, note)

    /** Changes an answered item's note, keeping its value and evidence. */
    fun setNote(item: String, note: String) = act {
        val current = rowOf(item)?.answer ?: throw IllegalArgumentException("answer the item first")
        repo.answer(visitId, item, current.value, note.ifBlank { null }, current.media)
    }

    /**
     * Takes a camera photo into the visit; with [item], also cites it in that item's answer
     * (failing the item if it was not answered).
     */
    fun attachPhoto(file: File, item: String? = null) = act {
        cite(item, repo.addPhoto(visitId, file).hash)
        onEvidenceAdded()
    }

    /** Takes a recorded video (and its poster frame) into the visit, like [attachPhoto]. */
    fun attachVideo(file: File, poster: File?, item: String? = null) = act {
        cite(item, repo.addVideo(visitId, file, poster).hash)
        onEvidenceAdded()
    }

    /** Records a finding (a hazard), optionally tied to an item and citing evidence. */
    fun addFinding(
        description: String,
        severity: Severity,
        item: String? = null,
        fixedOnSpot: Boolean = false,
        interimMeasures: String? = null,
        media: List<String> = emptyList(),
    ) = act {
        require(description.isNotBlank()) { "describe the finding" }
        repo.addFinding(
            visitId,
            NewFinding(description.trim(), severity, item, null, media, fixedOnSpot, interimMeasures?.ifBlank { null }),
        )
    }

    fun finish() = act { repo.finish(visitId) }

    fun dismissError() = _state.update { it.copy(error = null) }

    private fun answer(item: String, value: AnswerValue, note: String? = null) = act {
        val current = rowOf(item)?.answer
        repo.answer(visitId, item, value, note ?: current?.note, current?.media ?: emptyList())
    }

    private suspend fun cite(item: String?, hash: String) {
        if (item == null) return
        val current = rowOf(item)?.answer
        repo.answer(visitId, item, current?.value ?: AnswerValue.Fail, current?.note, (current?.media ?: emptyList()) + hash)
    }

    private fun rowOf(item: String) = _state.value.rows.firstOrNull { it.item.id == item }

    /** Runs [change], then reloads the visit; errors become a message, never a crash. */
    private fun act(change: suspend () -> Unit) = scope.launch {
        try {
            change()
            reload()
        } catch (e: ApiException) {
            _state.update { it.copy(error = userMessage(e)) }
        } catch (e: IllegalArgumentException) {
            _state.update { it.copy(error = e.message) }
        }
    }

    private suspend fun reload() {
        val visit = repo.visit(visitId)
        val template = repo.template(visit.template)
        val conflicted = repo.conflicts(visitId).map { it.item }.toSet()
        val rows = template.items.map { ChecklistRow(it, visit.answers[it.id], it.id in conflicted) }
        _state.value = ChecklistState(visit, rows, visit.findings, error = null)
    }
}
