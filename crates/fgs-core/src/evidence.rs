//! What errors keep of what a server sent: bounded copies of bodies and text, and text
//! made printable. A leaf module: everything that keeps or shows server data uses it.

use std::fmt;

use bytes::Bytes;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors keep at most this much of a response body as evidence.
pub const MAX_EVIDENCE_BYTES: usize = 64 << 10;

/// A bounded copy of `body` for an error to keep, and the body's full length. A body
/// under the bound is shared, not copied; a longer one is cut, so that an error never
/// keeps a large response alive.
pub(crate) fn evidence(body: &Bytes) -> (Bytes, usize) {
    if body.len() <= MAX_EVIDENCE_BYTES {
        (body.clone(), body.len())
    } else {
        (Bytes::copy_from_slice(&body[..MAX_EVIDENCE_BYTES]), body.len())
    }
}

/// At most this many characters of a server-sent text field (message, code, request id,
/// a decoder's description) are kept in an error.
pub(crate) const MAX_KEPT_CHARS: usize = 1024;

/// `text` cut at `max` characters (with `…` when cut), so that an error keeps a bounded
/// amount of what a server sent.
pub(crate) fn bounded(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text,
        Some((end, _)) => {
            let mut cut = text;
            cut.truncate(end);
            cut.push('…');
            cut
        }
    }
}

/// A source error whose text was too long to keep: only its start is.
#[derive(Debug)]
struct CutSource(String);

impl fmt::Display for CutSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CutSource {}

/// Keeps `source` as it is when its text is short; otherwise only the start of its text
/// (a JSON error may quote a whole response body).
pub(crate) fn bounded_source(source: BoxError) -> BoxError {
    let text = source.to_string();
    if text.chars().count() <= MAX_KEPT_CHARS {
        source
    } else {
        Box::new(CutSource(bounded(text, MAX_KEPT_CHARS)))
    }
}

/// Server-sent text as it may be printed: control characters (terminal escapes, line
/// breaks) are dropped and the length is bounded.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    const MAX_CHARS: usize = 1000;
    let clean = !text.chars().any(char::is_control) && text.len() <= MAX_CHARS;
    if clean {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .take(MAX_CHARS)
        .collect();
    if text.chars().filter(|c| !c.is_control()).nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    std::borrow::Cow::Owned(out)
}

/// At most this much of a server-sent value is quoted in a problem description.
const QUOTED_VALUE_CHARS: usize = 64;

/// The start of `text`, quoted for an error message, with control characters escaped.
pub(crate) fn quoted_prefix(text: &str) -> String {
    let mut quoted: String = text.chars().take(QUOTED_VALUE_CHARS).collect::<String>();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    format!("{quoted:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_bounded_and_shared_when_small() {
        let small = Bytes::from_static(b"tiny");
        assert_eq!(evidence(&small), (small.clone(), 4));
        let large = Bytes::from(vec![b'x'; MAX_EVIDENCE_BYTES + 10]);
        let (kept, len) = evidence(&large);
        assert_eq!(kept.len(), MAX_EVIDENCE_BYTES);
        assert_eq!(len, MAX_EVIDENCE_BYTES + 10);
    }

    #[test]
    fn printable_drops_control_characters_and_bounds_length() {
        assert_eq!(printable("plain text"), "plain text");
        assert_eq!(printable("a\u{1b}[2Jb\r\nc\td"), "a[2Jb c d");
        let long = "x".repeat(5000);
        let shown = printable(&long);
        assert_eq!(shown.chars().count(), 1001);
        assert!(shown.ends_with('…'));
    }
}
