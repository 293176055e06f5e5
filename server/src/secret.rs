//! Bearer tokens and enrollment codes: random, shown once, stored only as SHA-256.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::storage::Hash;

/// Letters of enrollment codes: Crockford's base32 (no I, L, O, U), easy to read aloud and type.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of an enrollment code (60 bits), shown in groups of four.
const CODE_LEN: usize = 15;

/// SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// A new bearer token: 32 random bytes as 64 lowercase hex digits.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> Hash {
    sha256(token.trim().as_bytes())
}

/// A new enrollment code such as `7K3M-Q9TX-2HDA-W4R`.
pub fn new_enrollment_code() -> String {
    let mut rng = rand::rng();
    let raw: String = (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect();
    raw.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of an enrollment code. Case, dashes and spaces do not matter, and the
/// letters people confuse with digits (O, I, L) read as the digits.
pub fn enrollment_code_hash(code: &str) -> Hash {
    let canonical: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    sha256(canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollment_codes_survive_retyping_in_lower_case_without_dashes() {
        let code = new_enrollment_code();
        assert_eq!(code.len(), CODE_LEN + 3);
        let retyped = code.replace('-', "").to_lowercase();
        assert_eq!(enrollment_code_hash(&code), enrollment_code_hash(&retyped));
        assert_ne!(
            enrollment_code_hash(&code),
            enrollment_code_hash(&new_enrollment_code())
        );
    }

    #[test]
    fn tokens_are_64_hex_digits_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&format!(" {a}\n")));
    }
}
