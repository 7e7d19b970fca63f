//! The UTC timestamps IAM and the metadata service send: `YYYY-MM-DDTHH:MM:SS[.f...]Z`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `2026-01-04T09:05:22.701000Z` (fractional seconds optional, any precision).
pub fn parse_iso_utc(text: &str) -> Option<SystemTime> {
    let text = text.trim().strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let mut clock_parts = clock.splitn(3, ':');
    let hour: u64 = clock_parts.next()?.parse().ok()?;
    let minute: u64 = clock_parts.next()?.parse().ok()?;
    let second: u64 = clock_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            // Keep nanosecond precision, padding or cutting the digits.
            let padded: String = digits.chars().chain(std::iter::repeat('0')).take(9).collect();
            padded.parse::<u32>().ok()?
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::new(seconds, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iam_and_metadata_times() {
        let t = parse_iso_utc("2020-01-04T09:05:22.701000Z").unwrap();
        assert_eq!(t, UNIX_EPOCH + Duration::new(1_578_128_722, 701_000_000));
        assert_eq!(parse_iso_utc("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_iso_utc("2000-02-29T12:00:00.5Z"),
            Some(UNIX_EPOCH + Duration::new(951_825_600, 500_000_000))
        );
        assert!(parse_iso_utc("2020-01-04 09:05:22Z").is_none());
        assert!(parse_iso_utc("2020-13-04T09:05:22Z").is_none());
        assert!(parse_iso_utc("2020-01-04T09:05:22").is_none());
        assert!(parse_iso_utc("2020-01-04T09:05:22.Z").is_none());
    }
}
