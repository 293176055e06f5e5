package org.siteproof.demo.ui

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.media.MediaMetadataRetriever
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.video.FileOutputOptions
import androidx.camera.video.Quality
import androidx.camera.video.QualitySelector
import androidx.camera.video.Recorder
import androidx.camera.video.Recording
import androidx.camera.video.VideoCapture
import androidx.camera.video.VideoRecordEvent
import androidx.camera.view.PreviewView
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner
import java.io.File
import java.util.UUID
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.siteproof.demo.logic.InspectionRepository

/**
 * Photo and video capture with CameraX, straight into the store. Silent by construction:
 * CameraX plays no shutter sound (an app would have to play one with MediaActionSound), the
 * flash stays off, and nothing is written to the gallery: files go to app-private storage,
 * are copied into the store by hash and deleted.
 */
@Composable
fun CameraScreen(repository: InspectionRepository, visit: String, item: String?, onDone: () -> Unit) {
    val context = LocalContext.current
    var cameraAllowed by remember { mutableStateOf(granted(context, Manifest.permission.CAMERA)) }
    val ask = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { result ->
        cameraAllowed = result[Manifest.permission.CAMERA] == true
    }
    LaunchedEffect(Unit) {
        if (!cameraAllowed) ask.launch(arrayOf(Manifest.permission.CAMERA, Manifest.permission.RECORD_AUDIO))
    }
    if (cameraAllowed) {
        Camera(repository, visit, item, onDone)
    } else {
        Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { Text("The camera permission is needed to capture evidence.") }
    }
}

@Composable
private fun Camera(repository: InspectionRepository, visit: String, item: String?, onDone: () -> Unit) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    val model = checklistModel(repository, visit)
    val scope = rememberCoroutineScope()
    val captures = remember { File(context.noBackupFilesDir, "capture").apply { mkdirs() } }
    val previewView = remember { PreviewView(context) }
    val imageCapture = remember {
        ImageCapture.Builder()
            .setCaptureMode(ImageCapture.CAPTURE_MODE_MINIMIZE_LATENCY)
            .setFlashMode(ImageCapture.FLASH_MODE_OFF)
            .build()
    }
    val videoCapture = remember {
        VideoCapture.withOutput(Recorder.Builder().setQualitySelector(QualitySelector.from(Quality.HD)).build())
    }
    var recording by remember { mutableStateOf<Recording?>(null) }
    var error by remember { mutableStateOf<String?>(null) }

    DisposableEffect(lifecycleOwner) {
        val providerFuture = ProcessCameraProvider.getInstance(context)
        providerFuture.addListener({
            val provider = providerFuture.get()
            val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
            provider.unbindAll()
            provider.bindToLifecycle(lifecycleOwner, CameraSelector.DEFAULT_BACK_CAMERA, preview, imageCapture, videoCapture)
        }, ContextCompat.getMainExecutor(context))
        onDispose {
            recording?.stop()
            if (providerFuture.isDone) providerFuture.get().unbindAll()
        }
    }

    Box(Modifier.fillMaxSize()) {
        AndroidView({ previewView }, Modifier.fillMaxSize())
        Row(
            Modifier.align(Alignment.BottomCenter).fillMaxWidth().padding(24.dp),
            horizontalArrangement = Arrangement.SpaceEvenly,
        ) {
            Button(enabled = recording == null, onClick = {
                val file = File(captures, "${UUID.randomUUID()}.jpg")
                imageCapture.takePicture(
                    ImageCapture.OutputFileOptions.Builder(file).build(),
                    ContextCompat.getMainExecutor(context),
                    object : ImageCapture.OnImageSavedCallback {
                        override fun onImageSaved(output: ImageCapture.OutputFileResults) {
                            model.attachPhoto(file, item)
                            onDone()
                        }

                        override fun onError(exception: ImageCaptureException) {
                            error = "The photo failed; try again."
                        }
                    },
                )
            }) { Text("Photo") }
            OutlinedButton(onClick = {
                val running = recording
                if (running != null) {
                    running.stop()
                    return@OutlinedButton
                }
                val file = File(captures, "${UUID.randomUUID()}.mp4")
                recording = startRecording(context, videoCapture, file) { ok ->
                    recording = null
                    if (!ok) {
                        error = "The recording failed."
                        return@startRecording
                    }
                    scope.launch {
                        val poster = withContext(Dispatchers.IO) { posterFrame(file, File(captures, "${file.name}.poster.jpg")) }
                        model.attachVideo(file, poster, item)
                        onDone()
                    }
                }
            }) { Text(if (recording == null) "Record" else "Stop") }
        }
        error?.let { Text(it, color = MaterialTheme.colorScheme.error, modifier = Modifier.align(Alignment.TopCenter).padding(16.dp)) }
    }
}

/** Starts a recording into [file]; [finished] hears whether it was written. */
@SuppressLint("MissingPermission") // audio only after the check right here
private fun startRecording(context: Context, capture: VideoCapture<Recorder>, file: File, finished: (Boolean) -> Unit): Recording {
    var pending = capture.output.prepareRecording(context, FileOutputOptions.Builder(file).build())
    if (granted(context, Manifest.permission.RECORD_AUDIO)) pending = pending.withAudioEnabled()
    return pending.start(ContextCompat.getMainExecutor(context)) { event ->
        if (event is VideoRecordEvent.Finalize) finished(!event.hasError())
    }
}

/** The first frame as a JPEG, for the store to make the video's thumbnail from. */
private fun posterFrame(video: File, out: File): File? {
    val retriever = MediaMetadataRetriever()
    return try {
        retriever.setDataSource(video.path)
        val frame = retriever.getFrameAtTime(0) ?: return null
        out.outputStream().use { frame.compress(Bitmap.CompressFormat.JPEG, 85, it) }
        out
    } catch (e: RuntimeException) {
        null // the video is still evidence without a preview
    } finally {
        retriever.release()
    }
}

private fun granted(context: Context, permission: String) =
    ContextCompat.checkSelfPermission(context, permission) == PackageManager.PERMISSION_GRANTED
