//! Chunk checksums of the tus checksum extension: `Upload-Checksum: <algorithm> <base64>` on
//! a `PATCH` says what its body hashes to, and the server keeps the body only if it does.
//!
//! Three algorithms, one rule for the phone and the server:
//!
//! - `crc32c` (CRC-32C, Castagnoli; the digest is its 4 bytes, big-endian, as S3's
//!   `x-amz-checksum-crc32c`): what the phone's uploader sends when the server offers it. A
//!   chunk checksum guards one body in transit; the file as a whole is checked against its
//!   SHA-256 content address when the upload completes. CRC-32C catches every burst error up
//!   to 32 bits and any other damage but one in 2^32, and the processor computes it about ten
//!   times faster than SHA-256, which both sides would otherwise spend on every byte once
//!   more beside the whole-file hash.
//! - `sha256`: the first algorithm the server offered, kept for clients that send it.
//! - `sha1`: the one the tus protocol requires every server to accept (`tuspy` sends it).
//!
//! ```
//! use siteproof_core::media::checksum::{ChecksumAlgorithm, UploadChecksum};
//!
//! let mut hasher = ChecksumAlgorithm::Crc32c.hasher();
//! hasher.update(b"123456789");
//! let sent = UploadChecksum::new(ChecksumAlgorithm::Crc32c, hasher.finish());
//! assert_eq!(sent.to_string(), "crc32c 4waSgw==");
//! let got: UploadChecksum = "crc32c 4waSgw==".parse().unwrap();
//! assert!(got.matches(b"123456789"));
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::Digest;

/// A checksum algorithm of `Upload-Checksum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    /// CRC-32C (Castagnoli), 4 bytes big-endian.
    Crc32c,
    /// SHA-256, 32 bytes.
    Sha256,
    /// SHA-1, 20 bytes.
    Sha1,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order a client should prefer them (the server lists them so in
    /// `Tus-Checksum-Algorithm`).
    pub const ALL: [Self; 3] = [Self::Crc32c, Self::Sha256, Self::Sha1];

    /// The name in `Upload-Checksum` and `Tus-Checksum-Algorithm`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32c => "crc32c",
            Self::Sha256 => "sha256",
            Self::Sha1 => "sha1",
        }
    }

    /// The algorithm of `name` (case ignored), if it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// Every name, comma-separated, for `Tus-Checksum-Algorithm`.
    pub fn offered() -> &'static str {
        "crc32c,sha256,sha1"
    }

    /// The algorithm a client picks from a `Tus-Checksum-Algorithm` list: the first of
    /// [`Self::ALL`] in it, `None` if the list names none of them.
    pub fn preferred_in(offered: &str) -> Option<Self> {
        let names: Vec<&str> = offered.split(',').map(str::trim).collect();
        Self::ALL
            .into_iter()
            .find(|a| names.iter().any(|n| n.eq_ignore_ascii_case(a.name())))
    }

    /// The digest's length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Crc32c => 4,
            Self::Sha256 => 32,
            Self::Sha1 => 20,
        }
    }

    /// A hasher of this algorithm over no bytes yet.
    pub fn hasher(self) -> ChunkHasher {
        ChunkHasher(match self {
            Self::Crc32c => {
                Running::Crc32c(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi))
            }
            Self::Sha256 => Running::Sha256(sha2::Sha256::new()),
            Self::Sha1 => Running::Sha1(sha1::Sha1::new()),
        })
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A checksum being computed over a body, piece by piece.
pub struct ChunkHasher(Running);

enum Running {
    Crc32c(crc_fast::Digest),
    Sha256(sha2::Sha256),
    Sha1(sha1::Sha1),
}

impl ChunkHasher {
    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Running::Crc32c(h) => h.update(data),
            Running::Sha256(h) => h.update(data),
            Running::Sha1(h) => h.update(data),
        }
    }

    /// The digest of every byte added.
    pub fn finish(self) -> Vec<u8> {
        match self.0 {
            Running::Crc32c(h) => {
                let crc = u32::try_from(h.finalize()).expect("a CRC-32 fits 32 bits");
                crc.to_be_bytes().to_vec()
            }
            Running::Sha256(h) => h.finalize().to_vec(),
            Running::Sha1(h) => h.finalize().to_vec(),
        }
    }
}

/// An `Upload-Checksum` value: an algorithm and the digest the body must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadChecksum {
    /// Its algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The digest (`algorithm.digest_len()` bytes).
    pub digest: Vec<u8>,
}

impl UploadChecksum {
    /// The checksum `digest` of `algorithm`.
    pub fn new(algorithm: ChecksumAlgorithm, digest: Vec<u8>) -> Self {
        Self { algorithm, digest }
    }

    /// Whether `body` has this checksum.
    pub fn matches(&self, body: &[u8]) -> bool {
        let mut hasher = self.algorithm.hasher();
        hasher.update(body);
        hasher.finish() == self.digest
    }
}

impl fmt::Display for UploadChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, B64.encode(&self.digest))
    }
}

/// Why an `Upload-Checksum` value was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// The algorithm is none of [`ChecksumAlgorithm::ALL`] (tus answers 400).
    #[error("the checksum algorithm {0:?} is not supported: use one of crc32c, sha256, sha1")]
    Unsupported(String),
    /// Not `<algorithm> <base64>`, or a digest of the wrong length.
    #[error("{0}")]
    Malformed(String),
}

impl FromStr for UploadChecksum {
    type Err = ChecksumError;

    fn from_str(raw: &str) -> Result<Self, ChecksumError> {
        let (name, value) = raw
            .trim()
            .split_once(' ')
            .ok_or_else(|| ChecksumError::Malformed("use: <algorithm> <base64>".into()))?;
        let algorithm = ChecksumAlgorithm::from_name(name)
            .ok_or_else(|| ChecksumError::Unsupported(name.chars().take(32).collect()))?;
        let digest = B64
            .decode(value.trim())
            .map_err(|_| ChecksumError::Malformed("the digest is not base64".into()))?;
        if digest.len() != algorithm.digest_len() {
            return Err(ChecksumError::Malformed(format!(
                "a {algorithm} digest is {} bytes, not {}",
                algorithm.digest_len(),
                digest.len()
            )));
        }
        Ok(Self { algorithm, digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard check values ("123456789") and the empty input, by name and digest.
    #[test]
    fn each_algorithm_gives_its_published_check_value() {
        let cases = [
            (ChecksumAlgorithm::Crc32c, "e3069283"),
            (
                ChecksumAlgorithm::Sha256,
                "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
            ),
            (
                ChecksumAlgorithm::Sha1,
                "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
            ),
        ];
        for (algorithm, hex_digest) in cases {
            let mut hasher = algorithm.hasher();
            hasher.update(b"1234");
            hasher.update(b"56789");
            let digest = hasher.finish();
            assert_eq!(hex::encode(&digest), hex_digest, "{algorithm}");
            assert_eq!(digest.len(), algorithm.digest_len());
            let empty = algorithm.hasher().finish();
            assert_eq!(empty.len(), algorithm.digest_len());
            assert_ne!(empty, digest);
        }
    }

    #[test]
    fn a_header_value_round_trips_and_checks_its_body() {
        for algorithm in ChecksumAlgorithm::ALL {
            let mut hasher = algorithm.hasher();
            hasher.update(b"a chunk of footage");
            let sent = UploadChecksum::new(algorithm, hasher.finish());
            let parsed: UploadChecksum = sent.to_string().parse().expect("parse");
            assert_eq!(parsed, sent);
            assert!(parsed.matches(b"a chunk of footage"));
            assert!(!parsed.matches(b"a chunk of footagE"));
        }
        let upper: UploadChecksum = "CRC32C 4waSgw==".parse().expect("case ignored");
        assert_eq!(upper.algorithm, ChecksumAlgorithm::Crc32c);
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        assert_eq!(
            "md5 AAAA".parse::<UploadChecksum>(),
            Err(ChecksumError::Unsupported("md5".into()))
        );
        for bad in ["crc32c", "crc32c !!!", "sha256 4waSgw==", "sha1 "] {
            assert!(
                matches!(
                    bad.parse::<UploadChecksum>(),
                    Err(ChecksumError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_client_prefers_crc32c_then_sha256_in_what_is_offered() {
        use ChecksumAlgorithm as A;
        assert_eq!(A::preferred_in(A::offered()), Some(A::Crc32c));
        assert_eq!(A::preferred_in("sha1, SHA256"), Some(A::Sha256));
        assert_eq!(A::preferred_in("sha1"), Some(A::Sha1));
        assert_eq!(A::preferred_in("md5"), None);
        assert_eq!(A::preferred_in(""), None);
        let offered: Vec<&str> = A::offered().split(',').collect();
        let names: Vec<&str> = A::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(offered, names);
    }
}
