package org.siteproof.demo.logic

import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.withContext
import org.siteproof.core.ApiException
import org.siteproof.core.PeerSession
import org.siteproof.core.PeerSummary

/**
 * A channel to a teammate's phone that the platform provides (a socket on the hotspot, Wi-Fi
 * Direct, Nearby). [send] must not wait for the teammate to read: both phones send at once.
 */
interface PeerChannel {
    /** Queues bytes for the teammate. */
    fun send(bytes: ByteArray)

    /** The next bytes from the teammate; null when it went silent for [timeoutMillis] or closed. */
    fun receive(timeoutMillis: Long): ByteArray?

    /** Closes the channel (the teammate's [receive] then returns null). */
    fun close()
}

/** What the "merge with a teammate" screen shows. */
sealed interface MergeState {
    /** Waiting for the inspector to start. */
    data object Idle : MergeState

    /** Exchanging with the teammate; [bytes] moved so far, both directions. */
    data class Merging(val bytes: Long) : MergeState

    /** Both phones now hold each other's visits of the group. */
    data class Merged(val summary: PeerSummary) : MergeState

    /** The teammate was refused (not a current member of the group) or the link broke. */
    data class Failed(val reason: String, val refused: Boolean) : MergeState
}

/**
 * Which of the teammate's originals this phone fetches. Thumbnails of every photo and video
 * come always; originals (hours of footage, perhaps, over a hotspot) only when chosen.
 */
sealed interface WantedOriginals {
    /** Thumbnails only. */
    data object None : WantedOriginals

    /** Every original the group's visits refer to that this phone lacks. */
    data object All : WantedOriginals

    /** These files, by hash (for example the ones the inspector tapped in a visit). */
    data class Only(val hashes: List<String>) : WantedOriginals
}

/**
 * Runs one peer session with a teammate over a [PeerChannel], as the phone that opened the
 * channel ([initiator]) or the one that accepted it. The session is the FFI [PeerSession];
 * this class only carries its bytes and reports progress.
 */
class TeammateMerge(
    private val repository: InspectionRepository,
    private val io: CoroutineDispatcher = Dispatchers.IO,
    private val idleMillis: Long = 30_000,
) {
    private val _state = MutableStateFlow<MergeState>(MergeState.Idle)

    /** The screen's state. */
    val state: StateFlow<MergeState> = _state.asStateFlow()

    /**
     * Merges with the teammate at the other end of [channel], fetching the [originals] chosen
     * besides thumbnails; the visit list refreshes after.
     */
    suspend fun merge(
        channel: PeerChannel,
        initiator: Boolean,
        originals: WantedOriginals = WantedOriginals.None,
    ): MergeState {
        val outcome = withContext(io) {
            try {
                val session = when (originals) {
                    WantedOriginals.None -> PeerSession.withMedia(repository.store, initiator, false, emptyList())
                    WantedOriginals.All -> PeerSession.withMedia(repository.store, initiator, true, emptyList())
                    is WantedOriginals.Only ->
                        PeerSession.withMedia(repository.store, initiator, false, originals.hashes)
                }
                session.use { run(it, channel) }
            } catch (e: ApiException) {
                MergeState.Failed(e.message ?: e.toString(), refused = e is ApiException.Unauthorized)
            } finally {
                channel.close()
            }
        }
        repository.refresh()
        _state.value = outcome
        return outcome
    }

    private fun run(session: PeerSession, channel: PeerChannel): MergeState {
        _state.value = MergeState.Merging(0)
        while (true) {
            val out = session.takeOutput()
            if (out.isNotEmpty()) channel.send(out)
            if (session.isFinished()) return MergeState.Merged(session.summary())
            val bytes = channel.receive(idleMillis)
                ?: return MergeState.Failed("the teammate went silent or left", refused = false)
            session.feed(bytes)
            val s = session.summary()
            _state.value = MergeState.Merging((s.bytesSent + s.bytesReceived).toLong())
        }
    }
}

/** Two connected in-memory channels: a stand-in for a platform link, and for tests. */
class MemoryChannel private constructor(
    private val inbox: LinkedBlockingQueue<ByteArray>,
    private val outbox: LinkedBlockingQueue<ByteArray>,
) : PeerChannel {
    @Volatile private var closed = false

    override fun send(bytes: ByteArray) {
        if (!closed) outbox.put(bytes)
    }

    override fun receive(timeoutMillis: Long): ByteArray? {
        val bytes = inbox.poll(timeoutMillis, TimeUnit.MILLISECONDS) ?: return null
        return if (bytes.isEmpty()) null else bytes
    }

    override fun close() {
        if (!closed) {
            closed = true
            // An empty message tells the other end the channel closed.
            outbox.put(ByteArray(0))
        }
    }

    companion object {
        /** Both ends of one link. */
        fun pair(): Pair<MemoryChannel, MemoryChannel> {
            val ab = LinkedBlockingQueue<ByteArray>()
            val ba = LinkedBlockingQueue<ByteArray>()
            return MemoryChannel(ba, ab) to MemoryChannel(ab, ba)
        }
    }
}
