//! The answers the sync benchmark's devices give, shared by `sync-bench` and the pulling
//! device's process (`pull-device`).

use siteproof_core::{AnswerInput, AnswerValue};

/// Answers per visit (items of the benchmark's template).
pub const ANSWERS: usize = 60;

/// The `i`-th answer: a fail every third, a pass otherwise, with `note`.
pub fn answer(i: usize, note: &str) -> AnswerInput {
    AnswerInput {
        value: if i.is_multiple_of(3) {
            AnswerValue::Fail
        } else {
            AnswerValue::Pass
        },
        note: Some(note.into()),
        media: vec![],
    }
}
