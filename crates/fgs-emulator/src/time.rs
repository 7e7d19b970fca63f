//! Time helpers: overflow-free time arithmetic, and the UTC timestamps of function logs and IAM
//! answers (written by `fgs_signing::date`, the workspace's one calendar).

use std::time::{Duration, SystemTime};

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
    fgs_signing::date::format_rfc3339(time, 3)
}

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC), as IAM's `expires_at` is.
pub(crate) fn format_utc_micros(time: SystemTime) -> String {
    fgs_signing::date::format_rfc3339(time, 6)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

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
        assert_eq!(
            format_utc_micros(t + Duration::from_micros(5)),
            "1999-12-31T23:59:59.000005Z"
        );
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
