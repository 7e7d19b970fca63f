//! Time helpers: overflow-free time arithmetic and UTC timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest duration any setting takes: longer ones are clamped to it, so that adding
/// it to a clock reading cannot overflow. About 100 years, so it still reads as a date.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `duration`, at most [`MAX_DURATION`].
pub(crate) fn clamp_duration(duration: Duration) -> Duration {
    duration.min(MAX_DURATION)
}

/// `now + duration` without overflow: a time past what the clock can hold becomes
/// `now + MAX_DURATION`, and failing that `now`.
pub(crate) fn system_time_after(now: SystemTime, duration: Duration) -> SystemTime {
    now.checked_add(duration)
        .or_else(|| now.checked_add(MAX_DURATION))
        .unwrap_or(now)
}

/// `now + duration` for monotonic instants, without overflow (see [`system_time_after`]).
pub(crate) fn instant_after(now: std::time::Instant, duration: Duration) -> std::time::Instant {
    now.checked_add(duration)
        .or_else(|| now.checked_add(MAX_DURATION))
        .unwrap_or(now)
}

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), as function logs do.
pub(crate) fn format_utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}Z", format_seconds(since.as_secs()), since.subsec_millis())
}

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC), as IAM's `expires_at` is.
pub(crate) fn format_utc_micros(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}Z", format_seconds(since.as_secs()), since.subsec_micros())
}

fn format_seconds(secs: u64) -> String {
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Converts days since 1970-01-01 into a (year, month, day) civil date
/// (Howard Hinnant's `civil_from_days`, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T13:45:30.123Z (leap day)
        let t = UNIX_EPOCH + Duration::from_millis(1_709_214_330_123);
        assert_eq!(format_utc(t), "2024-02-29T13:45:30.123Z");
        // 2000-03-01T00:00:00Z
        let t = UNIX_EPOCH + Duration::from_secs(951_868_800);
        assert_eq!(format_utc(t), "2000-03-01T00:00:00.000Z");
        // 1999-12-31T23:59:59Z
        let t = UNIX_EPOCH + Duration::from_secs(946_684_799);
        assert_eq!(format_utc(t), "1999-12-31T23:59:59.000Z");
    }

    #[test]
    fn time_arithmetic_saturates() {
        let now = SystemTime::now();
        assert_eq!(system_time_after(now, Duration::MAX), now + MAX_DURATION);
        let instant = std::time::Instant::now();
        assert!(instant_after(instant, Duration::MAX) > instant);
        assert_eq!(clamp_duration(Duration::MAX), MAX_DURATION);
        assert_eq!(clamp_duration(Duration::from_secs(1)), Duration::from_secs(1));
    }
}
