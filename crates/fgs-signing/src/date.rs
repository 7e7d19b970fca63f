//! `X-Sdk-Date` values (`YYYYMMDDTHHMMSSZ`, UTC) and [`SystemTime`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{SigningError, SigningErrorKind};

const SECONDS_PER_DAY: i64 = 86_400;

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
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            // Round towards the past: -0.5 s is second -1.
            let whole = if before.subsec_nanos() > 0 {
                whole.saturating_add(1)
            } else {
                whole
            };
            whole.saturating_neg()
        }
    };
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
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
    let number = |start: usize, end: usize| -> Option<i64> {
        let digits = bytes.get(start..end)?;
        digits.iter().try_fold(0_i64, |acc, &digit| {
            digit.is_ascii_digit().then(|| acc * 10 + i64::from(digit - b'0'))
        })
    };
    let field = |start, end| number(start, end).ok_or_else(invalid);
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute, second) = (field(9, 11)?, field(11, 13)?, field(13, 15)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(invalid());
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(invalid());
    }
    let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    let time = if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    };
    time.ok_or_else(|| {
        SigningError::new(
            SigningErrorKind::InvalidDate,
            format!("X-Sdk-Date {text:?} cannot be represented on this platform"),
        )
    })
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
