//! The unified social credit code (统一社会信用代码) that names an enterprise, checked per
//! GB 32100-2015: 18 characters from a 31-character alphabet (digits and capitals without
//! I, O, S, V, Z), the last one a check character computed from the first seventeen.
//!
//! ```
//! use siteproof_core::CreditCode;
//! let code: CreditCode = "91350100M000100Y43".parse().expect("a valid code");
//! assert_eq!(code.as_str(), "91350100M000100Y43");
//! assert!("91350100M000100Y44".parse::<CreditCode>().is_err()); // wrong check character
//! ```

use std::fmt;
use std::str::FromStr;

/// The code's alphabet in value order: a character's value is its index here.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// The weight of each of the first seventeen positions (3^i mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// Length of a code.
pub const CREDIT_CODE_LEN: usize = 18;

/// A unified social credit code whose length, alphabet and check character are valid.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

/// Why a string is not a unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// The code does not have 18 characters.
    #[error("a credit code has 18 characters, this one has {0}")]
    Length(usize),
    /// A character outside the code's alphabet (I, O, S, V, Z and lower case are not used).
    #[error("character {character:?} at position {position} is not allowed in a credit code")]
    Character {
        /// The offending character.
        character: char,
        /// Its 1-based position.
        position: usize,
    },
    /// The check character does not match the first seventeen.
    #[error("the check character is {found:?} but the first 17 characters give {expected:?}")]
    CheckCharacter {
        /// The last character as written.
        found: char,
        /// The check character the first seventeen call for.
        expected: char,
    },
}

impl CreditCode {
    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A credit code as typed on a visit or a list form, in the one form the office stores and
/// compares: trimmed and upper case; `None` when nothing was typed. It is not checked (a visit
/// keeps what the inspector typed); [`CreditCode`] checks.
pub fn normalize_credit_code(typed: &str) -> Option<String> {
    let code = typed.trim().to_uppercase();
    (!code.is_empty()).then_some(code)
}

/// The check character for the first seventeen characters of a code (which must be from
/// the alphabet): 31 minus the weighted sum modulo 31, where 31 maps to `0`.
pub fn credit_code_check_char(first17: &str) -> Result<char, CreditCodeError> {
    let mut sum = 0u32;
    for (i, c) in first17.chars().enumerate().take(17) {
        sum += value_of(c, i)? * WEIGHTS[i];
    }
    let check = (31 - sum % 31) % 31;
    Ok(char::from(ALPHABET[check as usize]))
}

fn value_of(c: char, index: usize) -> Result<u32, CreditCodeError> {
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|v| v as u32)
        .ok_or(CreditCodeError::Character {
            character: c,
            position: index + 1,
        })
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;
    fn from_str(s: &str) -> Result<Self, CreditCodeError> {
        let s = s.trim();
        let len = s.chars().count();
        if len != CREDIT_CODE_LEN {
            return Err(CreditCodeError::Length(len));
        }
        let first17: String = s.chars().take(17).collect();
        let expected = credit_code_check_char(&first17)?;
        let found = s.chars().last().expect("18 characters were counted");
        value_of(found, 17)?;
        if found != expected {
            return Err(CreditCodeError::CheckCharacter { found, expected });
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;
    fn try_from(s: String) -> Result<Self, CreditCodeError> {
        s.parse()
    }
}

impl From<CreditCode> for String {
    fn from(code: CreditCode) -> String {
        code.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_codes_are_valid() {
        // Codes printed on real business licences (check characters 3, L, T, and a Y in the body).
        for code in [
            "91350100M000100Y43",
            "91110000600037341L",
            "91440300708461136T",
        ] {
            assert_eq!(
                code.parse::<CreditCode>().map(String::from).as_deref(),
                Ok(code)
            );
        }
    }

    #[test]
    fn check_value_31_maps_to_zero() {
        // Find a body whose weighted sum is a multiple of 31: its check character is 0.
        let body = (0..31)
            .map(|d| format!("9111000010111057{}", char::from(ALPHABET[d])))
            .find(|b| {
                let sum: u32 = b
                    .chars()
                    .enumerate()
                    .map(|(i, c)| value_of(c, i).unwrap() * WEIGHTS[i])
                    .sum();
                sum.is_multiple_of(31)
            })
            .expect("one of 31 last characters gives a multiple of 31");
        assert_eq!(credit_code_check_char(&body), Ok('0'));
        assert!(format!("{body}0").parse::<CreditCode>().is_ok());
    }

    #[test]
    fn wrong_check_character_is_refused_with_the_expected_one() {
        assert_eq!(
            "91350100M000100Y44".parse::<CreditCode>(),
            Err(CreditCodeError::CheckCharacter {
                found: '4',
                expected: '3'
            })
        );
        assert_eq!(
            "91110000600037341K".parse::<CreditCode>(),
            Err(CreditCodeError::CheckCharacter {
                found: 'K',
                expected: 'L'
            })
        );
    }

    #[test]
    fn wrong_length_and_characters_are_refused() {
        assert_eq!(
            "91350100M000100Y4".parse::<CreditCode>(),
            Err(CreditCodeError::Length(17))
        );
        assert_eq!("".parse::<CreditCode>(), Err(CreditCodeError::Length(0)));
        assert_eq!(
            "91350100I000100Y43".parse::<CreditCode>(),
            Err(CreditCodeError::Character {
                character: 'I',
                position: 9
            })
        );
        assert_eq!(
            "91350100m000100Y43".parse::<CreditCode>(),
            Err(CreditCodeError::Character {
                character: 'm',
                position: 9
            })
        );
        assert!("91350100M000100Y4O".parse::<CreditCode>().is_err());
    }

    #[test]
    fn surrounding_spaces_are_trimmed() {
        assert_eq!(
            " 91350100M000100Y43 "
                .parse::<CreditCode>()
                .map(String::from)
                .as_deref(),
            Ok("91350100M000100Y43")
        );
    }
}
