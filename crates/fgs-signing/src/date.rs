//! Dates: the workspace's one calendar.
//!
//! Two text forms of a UTC instant, both read into and written from [`SystemTime`]:
//!
//! - `X-Sdk-Date`, `YYYYMMDDTHHMMSSZ` ([`format_sdk_date`], [`parse_sdk_date`]), the signing
//!   time of `SDK-HMAC-SHA256`, parsed strictly;
//! - RFC 3339 `date-time`, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` ([`format_rfc3339`],
//!   [`parse_rfc3339`]), as IAM (`token.expires_at`), the metadata service (`expires_at`) and
//!   function logs write times.
//!
//! Both rest on the same proleptic Gregorian arithmetic (Howard Hinnant's `days_from_civil` and
//! `civil_from_days`). Nothing here knows about signing; the module lives in `fgs-signing`
//! because every crate that reads or writes these times (the AK/SK signer, the credential
//! sources, the emulator) already depends on it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{SigningError, SigningErrorKind};

const SECONDS_PER_DAY: i64 = 86_400;
const NANOS_PER_SECOND: u32 = 1_000_000_000;

/// Formats `time` as an `X-Sdk-Date` value, `YYYYMMDDTHHMMSSZ` in UTC.
///
/// Fractions of a second are dropped (rounding towards the past). Years
/// outside `0000..=9999` are written with more digits or a sign and cannot be
/// parsed back by [`parse_sdk_date`].
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use fgs_signing::format_sdk_date;
///
/// assert_eq!(format_sdk_date(UNIX_EPOCH + Duration::from_secs(1_704_110_400)), "20240101T120000Z");
/// ```
#[must_use]
pub fn format_sdk_date(time: SystemTime) -> String {
    let (seconds, _nanos) = unix_time(time);
    let [year, month, day, hour, minute, second] = civil_from_unix(seconds);
    format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z")
}

/// Parses an `X-Sdk-Date` value, `YYYYMMDDTHHMMSSZ` in UTC.
///
/// Parsing is strict: exactly 16 characters, an uppercase `T` and `Z`, a
/// real calendar date (leap years included) and a time from `000000` to
/// `235959`.
///
/// # Errors
///
/// A [`SigningError`] of kind [`SigningErrorKind::InvalidDate`] if the text
/// is malformed or the time cannot be represented as a [`SystemTime`].
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use fgs_signing::parse_sdk_date;
///
/// # fn main() -> Result<(), fgs_signing::SigningError> {
/// assert_eq!(parse_sdk_date("19700102T000001Z")?, UNIX_EPOCH + Duration::from_secs(86_401));
/// assert!(parse_sdk_date("20230229T000000Z").is_err());
/// # Ok(())
/// # }
/// ```
pub fn parse_sdk_date(text: &str) -> Result<SystemTime, SigningError> {
    let invalid = || {
        SigningError::new(
            SigningErrorKind::InvalidDate,
            format!("X-Sdk-Date {text:?} is not a valid date of the form YYYYMMDDTHHMMSSZ"),
        )
    };
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return Err(invalid());
    }
    let field = |start: usize, end: usize| digits(bytes, start, end).ok_or_else(invalid);
    let seconds = unix_seconds([
        field(0, 4)?,
        field(4, 6)?,
        field(6, 8)?,
        field(9, 11)?,
        field(11, 13)?,
        field(13, 15)?,
    ])
    .ok_or_else(invalid)?;
    system_time(seconds, 0).ok_or_else(|| {
        SigningError::new(
            SigningErrorKind::InvalidDate,
            format!("X-Sdk-Date {text:?} cannot be represented on this platform"),
        )
    })
}

/// Formats `time` as an RFC 3339 `date-time` in UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, with
/// `fraction_digits` digits of the second (at most 9; 0 writes no fraction).
///
/// Digits beyond `fraction_digits` are dropped (rounding towards the past). Years outside
/// `0000..=9999` are written with more digits or a sign and cannot be parsed back by
/// [`parse_rfc3339`].
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use fgs_signing::date::format_rfc3339;
///
/// let time = UNIX_EPOCH + Duration::new(1_704_110_400, 123_456_789);
/// assert_eq!(format_rfc3339(time, 0), "2024-01-01T12:00:00Z");
/// assert_eq!(format_rfc3339(time, 3), "2024-01-01T12:00:00.123Z");
/// assert_eq!(format_rfc3339(time, 6), "2024-01-01T12:00:00.123456Z");
/// ```
#[must_use]
pub fn format_rfc3339(time: SystemTime, fraction_digits: usize) -> String {
    let (seconds, nanos) = unix_time(time);
    let [year, month, day, hour, minute, second] = civil_from_unix(seconds);
    let date_time = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    let width = fraction_digits.min(9);
    if width == 0 {
        return format!("{date_time}Z");
    }
    // `width` is 1..=9, so the exponent is 0..=8.
    let fraction = nanos / 10_u32.pow(9 - u32::try_from(width).unwrap_or(9));
    format!("{date_time}.{fraction:0width$}Z")
}

/// Parses an RFC 3339 `date-time`, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, e.g.
/// `2024-01-01T12:00:00.000000Z` or `2024-01-01T20:00:00+08:00`, into the instant it names.
///
/// Parsing is strict: the separator is `T` or `t` (not a space), UTC is `Z` or `z`, an offset
/// has the colon and is at most `±23:59`, the fraction has 1 to 9 digits, the date is a real
/// calendar date of the years `0000..=9999` and there are no leap seconds (`:60`) and no
/// surrounding whitespace. `None` when the text is not such a time or the instant cannot be
/// represented as a [`SystemTime`].
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use fgs_signing::date::parse_rfc3339;
///
/// let noon = UNIX_EPOCH + Duration::from_secs(1_704_110_400);
/// assert_eq!(parse_rfc3339("2024-01-01T12:00:00Z"), Some(noon));
/// assert_eq!(parse_rfc3339("2024-01-01T20:00:00+08:00"), Some(noon));
/// assert_eq!(parse_rfc3339("2024-01-01T12:00:00.5Z"), Some(noon + Duration::from_millis(500)));
/// assert_eq!(parse_rfc3339("2024-01-01 12:00:00Z"), None);
/// ```
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let shape = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')]
        .iter()
        .all(|&(at, separator)| bytes.get(at) == Some(&separator))
        && matches!(bytes.get(10), Some(b'T' | b't'));
    if !shape {
        return None;
    }
    let field = |start: usize| digits(bytes, start, start + 2);
    let local = unix_seconds([
        digits(bytes, 0, 4)?,
        field(5)?,
        field(8)?,
        field(11)?,
        field(14)?,
        field(17)?,
    ])?;
    let (nanos, rest) = rfc3339_fraction(bytes.get(19..)?)?;
    let offset = rfc3339_offset(rest)?;
    system_time(local.checked_sub(offset)?, nanos)
}

/// The optional `.fraction` at the start of `bytes`, as nanoseconds, and what follows it.
fn rfc3339_fraction(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let Some(fraction) = bytes.strip_prefix(b".") else {
        return Some((0, bytes));
    };
    let count = fraction.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if !(1..=9).contains(&count) {
        return None;
    }
    let value = u32::try_from(digits(fraction, 0, count)?).ok()?;
    let nanos = value.checked_mul(10_u32.pow(9 - u32::try_from(count).ok()?))?;
    Some((nanos, fraction.get(count..)?))
}

/// The offset from UTC in seconds of an RFC 3339 `time-offset`: `Z`, `z` or `±HH:MM`.
fn rfc3339_offset(bytes: &[u8]) -> Option<i64> {
    match bytes {
        b"Z" | b"z" => Some(0),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (digits(bytes, 1, 3)?, digits(bytes, 4, 6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ => None,
    }
}

/// The number written by `bytes[start..end]`, if those are all ASCII digits (at most 18 of them).
fn digits(bytes: &[u8], start: usize, end: usize) -> Option<i64> {
    let digits = bytes.get(start..end)?;
    if digits.len() > 18 {
        return None;
    }
    digits.iter().try_fold(0_i64, |acc, &digit| {
        digit.is_ascii_digit().then(|| acc * 10 + i64::from(digit - b'0'))
    })
}

/// Seconds since 1970-01-01T00:00:00Z of a UTC `[year, month, day, hour, minute, second]`, or
/// `None` if that is not a real date (leap years included) with a time from `00:00:00` to
/// `23:59:59`.
fn unix_seconds([year, month, day, hour, minute, second]: [i64; 6]) -> Option<i64> {
    let date_is_real = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    let time_is_real = (0..24).contains(&hour) && (0..60).contains(&minute) && (0..60).contains(&second);
    if !(date_is_real && time_is_real) {
        return None;
    }
    days_from_civil(year, month, day)
        .checked_mul(SECONDS_PER_DAY)?
        .checked_add(hour * 3600 + minute * 60 + second)
}

/// `[year, month, day, hour, minute, second]` in UTC of a count of seconds since the epoch.
fn civil_from_unix(seconds: i64) -> [i64; 6] {
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    [
        year,
        month,
        day,
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    ]
}

/// `time` as whole seconds since the epoch, rounded towards the past (-0.5 s is second -1, at
/// nanosecond 500 000 000), and the nanoseconds into that second. Saturates at ±`i64::MAX`
/// seconds.
fn unix_time(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (i64::try_from(after.as_secs()).unwrap_or(i64::MAX), after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX).saturating_neg();
            match before.subsec_nanos() {
                0 => (whole, 0),
                nanos => (whole.saturating_sub(1), NANOS_PER_SECOND - nanos),
            }
        }
    }
}

/// The instant `seconds` (plus `nanos`) after the epoch, if the platform can represent it.
fn system_time(seconds: i64, nanos: u32) -> Option<SystemTime> {
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let time = if seconds >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    time?.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// Whether `year` is a leap year of the proleptic Gregorian calendar.
pub(crate) fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Number of days of `month` (1–12) in `year`.
pub(crate) fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1–12), after
/// Howard Hinnant's `days_from_civil`: years are counted from March so that
/// the leap day is the last day of the year, in 400-year eras of 146 097
/// days.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]: `(year, month, day)` of a day count since
/// 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days.saturating_add(719_468);
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
