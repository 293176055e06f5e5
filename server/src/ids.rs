//! Identifier newtypes of the server: groups and regions. Both end up in record scopes, so they
//! follow the core's id rules (`siteproof_core::is_valid_id`: short ASCII tokens that cannot
//! smuggle a path or markup), the one copy of them.

use std::fmt;
use std::str::FromStr;

use siteproof_core::is_valid_id;

/// A string that is not a valid id of the named kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {value:?} (use 1-128 letters, digits, '-', '_', '.', ':' or '@')")]
pub struct InvalidId {
    /// What kind of id.
    pub what: &'static str,
    /// The offending text, cut to 80 characters.
    pub value: String,
}

macro_rules! server_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                if is_valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(InvalidId { what: $what, value: s.chars().take(80).collect() })
                }
            }
        }
    };
}

server_id!(
    /// The id of a group of inspectors (督导组 / 检查组): the `group` of a record's scope.
    GroupId,
    "group id"
);
server_id!(
    /// A region code such as `hebei.shijiazhuang`: the `region` of a record's scope.
    RegionCode,
    "region code"
);

impl GroupId {
    /// A new random group id.
    pub fn random() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_and_region_codes_refuse_paths_and_blanks() {
        for bad in ["", "../x", "a/b", "a b", ".h"] {
            assert!(bad.parse::<GroupId>().is_err());
            assert!(bad.parse::<RegionCode>().is_err());
        }
        assert_eq!(
            "hebei.shijiazhuang"
                .parse::<RegionCode>()
                .map(|r| r.to_string())
                .ok(),
            Some("hebei.shijiazhuang".to_string())
        );
        assert_ne!(GroupId::random(), GroupId::random());
    }
}
