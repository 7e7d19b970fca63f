//! The UTC timestamps IAM (`token.expires_at`) and the metadata service send.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses an RFC 3339 time as IAM and the metadata service send it,
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, e.g. `2024-01-01T12:00:00.000000Z`: up to
/// nine fraction digits, no leap seconds, not before 1970.
pub(crate) fn parse_iso_utc(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let digits = |from: usize, to: usize| -> Option<u32> {
        let part = text.get(from..to)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let separator = |at: usize, allowed: &[u8]| text.as_bytes().get(at).is_some_and(|b| allowed.contains(b));
    let year = digits(0, 4)?;
    let month = digits(5, 7)?;
    let day = digits(8, 10)?;
    let hour = digits(11, 13)?;
    let minute = digits(14, 16)?;
    let second = digits(17, 19)?;
    let shape =
        separator(4, b"-") && separator(7, b"-") && separator(10, b"Tt") && separator(13, b":") && separator(16, b":");
    if !shape || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut nanos = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 || count > 9 {
            return None;
        }
        nanos = fraction.get(..count)?.parse::<u32>().ok()? * 10u32.pow(9 - u32::try_from(count).ok()?);
        rest = fraction.get(count..)?;
    }
    let offset: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let offset_hours = rest.get(1..3)?;
            let offset_minutes = rest.get(4..6)?;
            let well_formed = rest.len() == 6
                && rest.as_bytes().get(3) == Some(&b':')
                && (offset_hours.bytes().chain(offset_minutes.bytes())).all(|b| b.is_ascii_digit());
            if !well_formed {
                return None;
            }
            let (offset_hours, offset_minutes): (i64, i64) = (offset_hours.parse().ok()?, offset_minutes.parse().ok()?);
            if offset_hours > 23 || offset_minutes > 59 {
                return None;
            }
            sign * (offset_hours * 3600 + offset_minutes * 60)
        }
    };
    let days = days_since_epoch(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second) - offset;
    Some(UNIX_EPOCH + Duration::new(u64::try_from(seconds).ok()?, nanos))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
fn days_since_epoch(year: i64, month: u32, day: u32) -> i64 {
    // Count years from March, so that the leap day ends the year.
    let (year, month) = if month <= 2 {
        (year - 1, i64::from(month) + 9)
    } else {
        (year, i64::from(month) - 3)
    };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn parses_iam_and_metadata_times() {
        assert_eq!(parse_iso_utc("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(parse_iso_utc("2024-01-01T12:00:00.000000Z"), Some(at(1_704_110_400)));
        assert_eq!(
            parse_iso_utc(" 2020-01-04T09:05:22.701000Z "),
            Some(UNIX_EPOCH + Duration::new(1_578_128_722, 701_000_000))
        );
        assert_eq!(
            parse_iso_utc("2000-02-29T12:00:00.5Z"),
            Some(UNIX_EPOCH + Duration::new(951_825_600, 500_000_000))
        );
        assert_eq!(
            parse_iso_utc("2024-01-01T12:00:00.123456789Z"),
            Some(UNIX_EPOCH + Duration::new(1_704_110_400, 123_456_789))
        );
        assert_eq!(parse_iso_utc("2024-01-01T20:00:00+08:00"), Some(at(1_704_110_400)));
        assert_eq!(parse_iso_utc("2024-01-01T11:30:00-00:30"), Some(at(1_704_110_400)));
        assert_eq!(parse_iso_utc("2024-01-01t12:00:00z"), Some(at(1_704_110_400)));
        assert_eq!(parse_iso_utc("2100-03-01T00:00:00Z"), Some(at(4_107_542_400)));
    }

    #[test]
    fn rejects_what_is_not_such_a_time() {
        for text in [
            "",
            "2024-01-01",
            "2024-01-01T12:00:00",
            "2024-01-01 12:00:00Z",
            "2024-01-01T12:00:00.Z",
            "2024-01-01T12:00:00.1234567890Z",
            "2024-13-01T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2100-02-29T12:00:00Z",
            "2024-04-31T12:00:00Z",
            "2024-01-00T12:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T12:60:00Z",
            "2024-01-01T12:00:60Z",
            "2024-01-01T12:00:00+0800",
            "2024-01-01T12:00:00+08:00:00",
            "2024-01-01T12:00:00+24:00",
            "1969-12-31T23:59:59Z",
            "+024-01-01T12:00:00Z",
            "2024-01-01T12:00:00ZZ",
            "2024-01-01T12:00:00.５Z",
            "２024-01-01T12:00:00Z",
        ] {
            assert_eq!(parse_iso_utc(text), None, "{text:?}");
        }
    }
}
