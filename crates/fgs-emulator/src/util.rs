//! Small helpers: random ids, constant-time comparison, overflow-free time arithmetic, UTC
//! timestamps, percent-decoding and truncation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq as _;

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

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// A secret used as a map key: hashed like a string (with the map's random keys), but
/// compared in constant time.
#[derive(Clone)]
pub(crate) struct SecretKey(pub(crate) String);

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        secret_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SecretKey {}

impl std::hash::Hash for SecretKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// 128 bits from the operating system's random number generator. Ids, tokens and keys
/// are drawn from it, so that none can be predicted from another.
fn next_bits() -> (u64, u64) {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS generator does not fail on the platforms the emulator runs on; should it,
        // fall back to fastrand rather than stop answering.
        bytes = fastrand::u128(..).to_le_bytes();
    }
    let (high, low) = bytes.split_at(8);
    let word = |part: &[u8]| part.iter().fold(0u64, |acc, byte| acc << 8 | u64::from(*byte));
    (word(high), word(low))
}

/// A FunctionGraph-style request id: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`
/// in lowercase hexadecimal.
pub(crate) fn uuid_like() -> String {
    let (high, low) = next_bits();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// An API-gateway-style request id: 32 lowercase hexadecimal digits.
pub(crate) fn hex32() -> String {
    let (high, low) = next_bits();
    format!("{high:016x}{low:016x}")
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

/// Percent-decodes one path segment. Returns `None` for a malformed escape
/// (`%` not followed by two hex digits) or a result that is not UTF-8.
pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let high = hex_value(*bytes.get(i + 1)?)?;
            let low = hex_value(*bytes.get(i + 2)?)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Keeps only the first `max` bytes of `text`, moving the cut back to a character
/// boundary so the result stays valid UTF-8.
pub(crate) fn keep_head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Keeps only the last `max` bytes of `text`, moving the cut forward to the
/// next character boundary so the result stays valid UTF-8.
pub(crate) fn keep_tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let id = uuid_like();
            let lengths: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars()
                    .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            assert!(seen.insert(id));
            let hex = hex32();
            assert_eq!(hex.len(), 32);
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(seen.insert(hex));
        }
    }

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
    fn percent_decodes() {
        assert_eq!(
            percent_decode("urn%3Afss%3Ax%3A%21prod").as_deref(),
            Some("urn:fss:x:!prod")
        );
        assert_eq!(percent_decode("a:b").as_deref(), Some("a:b"));
        assert_eq!(percent_decode("caf%c3%A9").as_deref(), Some("café"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn keeps_tail_on_char_boundary() {
        assert_eq!(keep_tail("hello", 10), "hello");
        assert_eq!(keep_tail("hello", 3), "llo");
        // "é" is two bytes; cutting inside it moves forward.
        assert_eq!(keep_tail("aéb", 2), "b");
        assert_eq!(keep_tail("aéb", 3), "éb");
        assert_eq!(keep_head("hello", 10), "hello");
        assert_eq!(keep_head("hello", 3), "hel");
        assert_eq!(keep_head("aéb", 2), "a");
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

    #[test]
    fn secrets_compare_by_value() {
        assert!(secret_eq(b"token", b"token"));
        assert!(!secret_eq(b"token", b"tokem"));
        assert!(!secret_eq(b"token", b"token2"));
        let mut map = std::collections::HashMap::new();
        map.insert(SecretKey("a".into()), 1);
        assert_eq!(map.get(&SecretKey("a".into())), Some(&1));
        assert_eq!(map.get(&SecretKey("b".into())), None);
    }
}
