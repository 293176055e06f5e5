//! Public keys as PEM, the form `openssl pkeyutl -pubin -inkey` reads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// DER of `SubjectPublicKeyInfo { AlgorithmIdentifier { id-Ed25519 (1.3.101.112) }, BIT
/// STRING }` up to the 32 key bytes (RFC 8410): every Ed25519 public key starts with it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An Ed25519 public key as a PEM `PUBLIC KEY` block.
pub fn public_key_pem(key: &[u8; 32]) -> String {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(key);
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        B64.encode(der)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_8410_example_key_encodes_as_in_the_rfc() {
        // RFC 8410, section 10.1.
        let key: [u8; 32] =
            hex::decode("19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1")
                .expect("hex")
                .try_into()
                .expect("32 bytes");
        assert_eq!(
            public_key_pem(&key),
            "-----BEGIN PUBLIC KEY-----\n\
             MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
             -----END PUBLIC KEY-----\n"
        );
    }
}
