package org.siteproof.demo.logic

import java.io.File
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The store's 32-byte key, kept in [file] wrapped (AES-GCM) by [wrappingKey]. On Android the
 * wrapping key lives in the Android Keystore and never leaves it, so the file alone is useless
 * to someone who copies the app's data; on iOS the key sits in the Keychain instead.
 *
 * The file belongs in no-backup storage: a restored backup must not carry it to another phone.
 */
class StoreKeyFile(private val file: File, private val wrappingKey: SecretKey) {
    /** The key: unwrapped from the file, or made, wrapped and written on first use. */
    fun loadOrCreate(): ByteArray {
        if (file.exists()) return unwrap(file.readBytes())
        val key = ByteArray(KEY_BYTES).also { SecureRandom().nextBytes(it) }
        val tmp = File(file.parentFile, "${file.name}.tmp")
        tmp.outputStream().use { out ->
            out.write(wrap(key))
            out.fd.sync()
        }
        check(tmp.renameTo(file)) { "cannot write ${file.name}" }
        return key
    }

    private fun wrap(key: ByteArray): ByteArray {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey)
        return cipher.iv + cipher.doFinal(key)
    }

    private fun unwrap(bytes: ByteArray): ByteArray {
        require(bytes.size > IV_BYTES) { "${file.name} is damaged" }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, wrappingKey, GCMParameterSpec(128, bytes, 0, IV_BYTES))
        return cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES)
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val KEY_BYTES = 32
    }
}
