package org.siteproof.demo

import android.app.Application
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch
import org.siteproof.core.SiteproofStore
import org.siteproof.demo.logic.InspectionRepository
import org.siteproof.demo.logic.StoreKeyFile
import org.siteproof.demo.work.Background

/**
 * Opens the one store of the app, in no-backup storage, with the key the Android Keystore
 * protects. Opening does disk I/O (and a schema upgrade after an app update), so it runs on
 * a background thread at start; screens and workers await [repository].
 */
class SiteproofApplication : Application() {
    private val appScope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private val opened = CompletableDeferred<InspectionRepository>()

    /** The repository, once the store is open. */
    suspend fun repository(): InspectionRepository = opened.await()

    override fun onCreate() {
        super.onCreate()
        appScope.launch {
            runCatching { open() }.fold(opened::complete, opened::completeExceptionally)
        }
        Background.schedulePeriodicSync(this)
    }

    override fun onTrimMemory(level: Int) {
        super.onTrimMemory(level)
        if (level >= TRIM_MEMORY_BACKGROUND && opened.isCompleted) {
            appScope.launch { repository().store.clearCache() }
        }
    }

    private fun open(): InspectionRepository {
        val dir = File(noBackupFilesDir, "siteproof").apply { mkdirs() }
        val key = StoreKeyFile(File(dir, "store-key.bin"), keystoreKey()).loadOrCreate()
        val store = SiteproofStore.open(File(dir, "siteproof.db").path, File(dir, "media").path, key)
        key.fill(0)
        return InspectionRepository(store)
    }

    /** An AES key that never leaves the Keystore; it only wraps the store key. */
    private fun keystoreKey(): SecretKey {
        val keystore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (keystore.getKey(KEY_ALIAS, null) as? SecretKey)?.let { return it }
        val spec = KeyGenParameterSpec.Builder(KEY_ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
            .apply { init(spec) }
            .generateKey()
    }

    private companion object {
        const val KEY_ALIAS = "siteproof-store-key-wrap"
    }
}
