import Foundation
import Security

/// The store's 32-byte key in the Keychain: made once, never leaves this device (no iCloud
/// Keychain, not in backups), readable after the first unlock so background uploads work
/// while the phone is locked.
enum KeychainKey {
    private static let service = "org.siteproof.demo"
    private static let account = "store-key"

    static func loadOrCreate() throws -> Data {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecMatchLimit as String: kSecMatchLimitOne,
        ]
        var found: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &found)
        if status == errSecSuccess, let data = found as? Data {
            return data
        }
        guard status == errSecItemNotFound else { throw KeychainError(status: status) }

        var key = Data(count: 32)
        let made = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard made == errSecSuccess else { throw KeychainError(status: made) }
        query.removeValue(forKey: kSecReturnData as String)
        query.removeValue(forKey: kSecMatchLimit as String)
        query[kSecValueData as String] = key
        query[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let added = SecItemAdd(query as CFDictionary, nil)
        guard added == errSecSuccess else { throw KeychainError(status: added) }
        return key
    }
}

struct KeychainError: Error {
    let status: OSStatus
}
