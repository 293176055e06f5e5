//! Identifier newtypes. Each id is a string on the wire and in documents, so that other
//! languages and the back office can read them without knowing our Rust types.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                if is_valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(Error::InvalidId { what: $what, id: s.chars().take(80).collect() })
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
                reconciler.str(&self.0)
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                s.parse().map_err(|_| autosurgeon::HydrateError::unexpected($what, s.chars().take(80).collect()))
            }
        }
    };
}

/// Ids are short ASCII tokens: letters, digits, `-`, `_`, `.`, `@` and `:`; 1 to 128 bytes.
/// Keeping them this narrow means an id can never smuggle a path or markup anywhere.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b':'))
        && !s.starts_with('.')
}

string_id!(
    /// The id of one record (one Automerge document): a visit, template version, case, ...
    RecordId,
    "record id"
);
string_id!(
    /// The id of a checklist item within a template.
    ItemId,
    "item id"
);
string_id!(
    /// The id of a finding within a visit.
    FindingId,
    "finding id"
);
string_id!(
    /// The id of a device (one installation of the app).
    DeviceId,
    "device id"
);
string_id!(
    /// A stable template id; with a version it names one published template record.
    TemplateId,
    "template id"
);

impl RecordId {
    /// A new random, time-ordered record id.
    pub fn random() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// The record id of the ledger entry (`case`) of one finding of a visit:
    /// `case:` and 32 hex digits of the SHA-256 of the two ids. Every finding has exactly one
    /// entry, so the office makes the same id whenever it first acts on the finding.
    pub fn for_finding_case(visit: &RecordId, finding: &FindingId) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(visit.as_str().as_bytes());
        h.update([0]);
        h.update(finding.as_str().as_bytes());
        Self(format!("case:{}", &hex::encode(h.finalize())[..32]))
    }

    /// The record id of one version of a template: `template:<id>@<version>`.
    pub fn for_template(id: &TemplateId, version: u32) -> Self {
        Self(format!("template:{id}@{version}"))
    }
}

impl FindingId {
    /// A new random finding id.
    pub fn random() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl DeviceId {
    /// A new random device id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

/// The SHA-256 of a media file, as 64 lowercase hex digits: the file's name and identity.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct MediaHash(String);

impl MediaHash {
    /// Wraps raw digest bytes.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(hex::encode(digest))
    }

    /// The hash as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for MediaHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::InvalidId {
                what: "media hash",
                id: s.chars().take(80).collect(),
            })
        }
    }
}

impl TryFrom<String> for MediaHash {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<MediaHash> for String {
    fn from(h: MediaHash) -> String {
        h.0
    }
}

impl autosurgeon::Reconcile for MediaHash {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.str(&self.0)
    }
}

impl autosurgeon::Hydrate for MediaHash {
    fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
        s.parse().map_err(|_| {
            autosurgeon::HydrateError::unexpected("media hash", s.chars().take(80).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_paths_and_markup() {
        for bad in [
            "",
            "../etc",
            "a/b",
            "<script>",
            "a b",
            ".hidden",
            &"x".repeat(129),
        ] {
            assert!(bad.parse::<RecordId>().is_err(), "{bad:?} accepted");
        }
        assert!("template:hazchem@3".parse::<RecordId>().is_ok());
    }

    #[test]
    fn media_hash_is_64_lowercase_hex() {
        assert!("ab".parse::<MediaHash>().is_err());
        assert!("A".repeat(64).parse::<MediaHash>().is_err());
        assert!("a".repeat(64).parse::<MediaHash>().is_ok());
    }
}
