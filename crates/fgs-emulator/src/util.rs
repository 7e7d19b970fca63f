//! Small helpers: random ids, constant-time comparison, percent-decoding and truncation.

use subtle::ConstantTimeEq as _;

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
