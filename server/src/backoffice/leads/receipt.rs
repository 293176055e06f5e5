//! Receipt codes: what a reporter keeps to check a lead's status; stored only as a hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A receipt code: 16 characters of Crockford base32 in groups of four (80 random bits).
pub(super) fn receipt_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of a receipt code: SHA-256 of its canonical spelling (upper case, no
/// separators, O read as 0, I and L as 1), so a reporter's typing slips do not matter.
pub(super) fn receipt_hash(code: &str) -> [u8; 32] {
    let canonical: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    Sha256::digest(canonical.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_codes_are_random_and_forgive_typing_slips() {
        let code = receipt_code();
        assert_eq!(code.len(), 19, "{code}");
        assert_ne!(code, receipt_code());
        let sloppy = code.to_lowercase().replace('-', " ");
        assert_eq!(receipt_hash(&code), receipt_hash(&sloppy));
        assert_eq!(receipt_hash("O1L0-AAAA"), receipt_hash("0110aaaa"));
        assert_ne!(receipt_hash(&code), receipt_hash("0000-0000-0000-0000"));
    }
}
