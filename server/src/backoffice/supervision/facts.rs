//! The risk facts of every enterprise a user may see, read by the [`SupervisionStore`] from
//! the registry, the visit index and the hazard ledger (one grouped query per fact).
//!
//! What is read is [`Facts`]: the times behind each count (when each major hazard was found,
//! each open deadline, ...) rather than the counts, so the counts at any moment follow from
//! them ([`Facts::at`]) and a region's facts can be kept between requests (`cache.rs`) while
//! the windows of the rules move with the clock.

use std::collections::HashMap;

use crate::identity::visibility::{Unsectored, Visibility};
use crate::storage::{RiskView, StorageResult, SupervisionStore};

pub use crate::backoffice::dates::DAY_MS;
pub use crate::storage::{Facts, Gathered};

/// How far back hazards, repeat findings and leads count.
pub const WINDOW_MS: i64 = 365 * DAY_MS;

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Facts {
    /// The facts at `now`: what the windows of the rules hold then.
    pub fn at(&self, now: i64) -> Gathered {
        let since = now - WINDOW_MS;
        let in_window = |times: &[i64]| count(times.iter().filter(|t| **t >= since).count());
        let repeats = self
            .item_visits
            .iter()
            .map(|visits| in_window(visits).saturating_sub(1))
            .fold(0u32, u32::saturating_add);
        Gathered {
            major: in_window(&self.major_found),
            overdue: count(self.open_deadlines.iter().filter(|d| **d < now).count()),
            repeats,
            leads: in_window(&self.leads_received),
            ..self.known.clone()
        }
    }
}

/// The rows `vis` reads the facts from.
pub fn view_of(vis: &Visibility) -> RiskView {
    RiskView {
        region: vis.enterprise_region().to_owned(),
        rows: vis.rows(Unsectored::Hidden),
        lead_rows: vis.rows(Unsectored::Shown),
    }
}

/// The facts of every enterprise `vis` may see (or just `only`), counted at `now`.
pub async fn gather(
    store: &dyn SupervisionStore,
    vis: &Visibility,
    now: i64,
    only: Option<&str>,
) -> StorageResult<HashMap<String, Gathered>> {
    Ok(store
        .risk_facts(&view_of(vis), only)
        .await?
        .into_iter()
        .map(|(code, f)| (code, f.at(now)))
        .collect())
}
