package org.siteproof.demo.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Checkbox
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.SocketTimeoutException
import java.util.concurrent.LinkedBlockingQueue
import kotlin.concurrent.thread
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.siteproof.demo.logic.InspectionRepository
import org.siteproof.demo.logic.MergeState
import org.siteproof.demo.logic.PeerChannel
import org.siteproof.demo.logic.TeammateMerge
import org.siteproof.demo.logic.WantedOriginals

/** The port a phone waits on for a teammate (the same as `siteproof client peer listen`). */
private const val PEER_PORT = 7420

/**
 * "Merge with a teammate": one phone opens its hotspot and waits, the other joins the hotspot
 * and connects to it; both then hold every visit of the group. Discovery by name (NSD) is
 * left to the platform; here the inspector types the teammate's address.
 */
@Composable
fun MergeScreen(repository: InspectionRepository, onDone: () -> Unit) {
    val merge = remember { TeammateMerge(repository) }
    val state by merge.state.collectAsState()
    var address by remember { mutableStateOf("192.168.43.1") }
    // Originals can be hours of footage: off by default, thumbnails always come.
    var fetchOriginals by remember { mutableStateOf(false) }
    val originals = if (fetchOriginals) WantedOriginals.All else WantedOriginals.None
    val scope = rememberCoroutineScope()
    val busy = state is MergeState.Merging
    Column(Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Merge with a teammate", style = MaterialTheme.typography.headlineSmall)
        Row(verticalAlignment = Alignment.CenterVertically) {
            Checkbox(fetchOriginals, { fetchOriginals = it }, enabled = !busy)
            Text("Also fetch the teammate's original photos and videos")
        }
        Row(horizontalArrangement = Arrangement.spacedBy(12.dp)) {
            Button(enabled = !busy, onClick = {
                scope.launch {
                    val channel = withContext(Dispatchers.IO) { SocketChannel.accept(PEER_PORT) }
                    merge.merge(channel, initiator = false, originals)
                }
            }) { Text("Wait for teammate") }
        }
        OutlinedTextField(address, { address = it }, label = { Text("Teammate's address") }, singleLine = true)
        OutlinedButton(enabled = !busy && address.isNotBlank(), onClick = {
            scope.launch {
                val channel = withContext(Dispatchers.IO) { SocketChannel.connect(address.trim(), PEER_PORT) }
                merge.merge(channel, initiator = true, originals)
            }
        }) { Text("Connect") }
        when (val s = state) {
            MergeState.Idle -> Text("Both phones must be enrolled in the same group.")
            is MergeState.Merging -> Text("Merging… ${s.bytes / 1024} KB")
            is MergeState.Merged -> {
                Text(
                    "Merged: ${s.summary.recordsReceived} visits received, ${s.summary.recordsSent} sent, " +
                        "${s.summary.mediaReceived} photos and videos received",
                )
                Button(onClick = onDone) { Text("Back to visits") }
            }
            is MergeState.Failed -> Text(
                if (s.refused) "Refused: this phone is not a current member of your group." else "Failed: ${s.reason}",
                color = MaterialTheme.colorScheme.error,
            )
        }
    }
}

/** A [PeerChannel] over a TCP socket; a writer thread keeps [send] from waiting on the peer. */
private class SocketChannel(private val socket: Socket) : PeerChannel {
    private val queue = LinkedBlockingQueue<ByteArray>()
    private val writer = thread(name = "peer-writer") {
        try {
            val out = socket.getOutputStream()
            while (true) {
                val bytes = queue.take()
                if (bytes.isEmpty()) break
                out.write(bytes)
                out.flush()
            }
            socket.shutdownOutput()
        } catch (_: Exception) {
            // The session notices the broken link on its next read.
        }
    }
    private val buffer = ByteArray(64 * 1024)

    override fun send(bytes: ByteArray) = queue.put(bytes)

    override fun receive(timeoutMillis: Long): ByteArray? = try {
        socket.soTimeout = timeoutMillis.toInt()
        val n = socket.getInputStream().read(buffer)
        if (n <= 0) null else buffer.copyOf(n)
    } catch (_: SocketTimeoutException) {
        null
    }

    override fun close() {
        queue.put(ByteArray(0))
        writer.join(5_000)
        socket.close()
    }

    companion object {
        fun accept(port: Int): SocketChannel = ServerSocket(port).use { SocketChannel(it.accept()) }

        fun connect(host: String, port: Int): SocketChannel =
            SocketChannel(Socket().apply { connect(InetSocketAddress(host, port), 10_000) })
    }
}
