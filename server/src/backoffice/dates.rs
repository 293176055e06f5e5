//! Dates as the office reads them: China Standard Time (UTC+8, no daylight saving), so a
//! "day" of the daily briefing is a Beijing day.

/// UTC+8 in milliseconds.
const OFFSET_MS: i64 = 8 * 3600 * 1000;
/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 -> (year, month, day) (Howard Hinnant's civil-from-days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) -> days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-28` in Beijing time. Saturating: times come from devices' records, and a record
/// may carry any `i64`.
pub fn date(ms: i64) -> String {
    let (y, m, d) = civil(ms.saturating_add(OFFSET_MS).div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-11-28 15:04` in Beijing time.
pub fn date_time(ms: i64) -> String {
    let local = ms.saturating_add(OFFSET_MS);
    let mins = local.rem_euclid(DAY_MS) / 60_000;
    format!("{} {:02}:{:02}", date(ms), mins / 60, mins % 60)
}

/// The instant a Beijing day `YYYY-MM-DD` starts, or `None` if it is not such a date.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return None;
    }
    Some(days_from_civil(y, m, d) * DAY_MS - OFFSET_MS)
}

/// The start of the Beijing day holding `ms`.
pub fn day_start(ms: i64) -> i64 {
    (ms + OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - OFFSET_MS
}

/// The start of the Beijing month holding `ms`, and of the next one.
pub fn month_bounds(ms: i64) -> (i64, i64) {
    let (y, m, _) = civil((ms + OFFSET_MS).div_euclid(DAY_MS));
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        days_from_civil(y, m, 1) * DAY_MS - OFFSET_MS,
        days_from_civil(ny, nm, 1) * DAY_MS - OFFSET_MS,
    )
}

/// The half-month holding `ms`: the 1st to the 15th, or the 16th to the month's end.
pub fn half_month_bounds(ms: i64) -> (i64, i64) {
    let (start, end) = month_bounds(ms);
    let mid = start + 15 * DAY_MS;
    if ms < mid { (start, mid) } else { (mid, end) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_at_the_limits_of_i64_are_shown_without_overflow() {
        for ms in [i64::MAX, i64::MIN, i64::MAX - 1] {
            assert!(!date(ms).is_empty());
            assert!(!date_time(ms).is_empty());
        }
    }

    #[test]
    fn beijing_dates_round_trip() {
        let t = parse_date("2026-11-28").expect("date");
        assert_eq!(date(t), "2026-11-28");
        assert_eq!(date_time(t + 61 * 60_000), "2026-11-28 01:01");
        assert_eq!(date(t - 1), "2026-11-27");
        assert_eq!(day_start(t + 5000), t);
        let (a, b) = month_bounds(t);
        assert_eq!(
            (date(a), date(b)),
            ("2026-11-01".into(), "2026-12-01".into())
        );
        let (h, _) = half_month_bounds(t);
        assert_eq!(date(h), "2026-11-16");
        assert!(parse_date("2026-13-01").is_none() && parse_date("x").is_none());
        assert_eq!(date(parse_date("2024-02-29").expect("leap")), "2024-02-29");
    }
}
