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

/// How many causes of a source are kept when its chain has to be copied (a longer chain
/// is cut there).
const MAX_KEPT_CAUSES: usize = 16;

/// One cause of a copied chain: its text, made printable, and the next cause.
#[derive(Debug)]
struct PrintedCause {
    text: String,
    source: Option<Box<PrintedCause>>,
}

impl fmt::Display for PrintedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PrintedCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `source` as an error keeps it to show it along its [`source`](std::error::Error::source)
/// chain, where it is printed as it is (`{:#}`, `anyhow`, `eyre`): kept unchanged (so it can
/// still be downcast) when the text of every cause is already [`printable`], else replaced by
/// a copy of the chain whose texts are printable (control characters dropped, length
/// bounded) and whose length is bounded. A JSON error may quote server text; a third-party
/// error may be long.
pub(crate) fn printable_source(source: BoxError) -> BoxError {
    match printable_texts(source.as_ref()) {
        None => source,
        Some(copy) => copy,
    }
}

/// A copy of `error`'s chain whose texts are printable, as [`printable_source`] makes one,
/// made whether or not the texts needed it (for an error only borrowed).
pub(crate) fn printable_copy(error: &(dyn std::error::Error + 'static)) -> BoxError {
    match printable_texts(error) {
        Some(copy) => copy,
        None => {
            let mut texts = Vec::new();
            let mut cause = Some(error);
            while let Some(current) = cause.filter(|_| texts.len() < MAX_KEPT_CAUSES) {
                texts.push(current.to_string());
                cause = current.source();
            }
            chain_of(texts).unwrap_or_else(|| {
                Box::new(PrintedCause {
                    text: error.to_string(),
                    source: None,
                })
            })
        }
    }
}

/// `None` when every text along `error`'s chain is already printable (and the chain short
/// enough); otherwise the printable copy.
fn printable_texts(error: &(dyn std::error::Error + 'static)) -> Option<BoxError> {
    let mut texts = Vec::new();
    let mut clean = true;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if texts.len() == MAX_KEPT_CAUSES {
            clean = false;
            texts.push("(further causes left out)".to_owned());
            break;
        }
        let text = current.to_string();
        if matches!(printable(&text), std::borrow::Cow::Borrowed(_)) {
            texts.push(text);
        } else {
            clean = false;
            texts.push(printable(&text).into_owned());
        }
        cause = current.source();
    }
    if clean {
        return None;
    }
    chain_of(texts)
}

/// Errors saying `texts`, each the source of the one before.
fn chain_of(texts: Vec<String>) -> Option<BoxError> {
    texts
        .into_iter()
        .rev()
        .fold(None, |source, text| Some(Box::new(PrintedCause { text, source })))
        .map(|copy| copy as BoxError)
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

    #[derive(Debug)]
    struct Chain(String, Option<Box<Chain>>);

    impl fmt::Display for Chain {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Chain {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
        }
    }

    fn chain(texts: &[String]) -> Chain {
        let (first, rest) = texts.split_first().unwrap();
        Chain(first.clone(), (!rest.is_empty()).then(|| Box::new(chain(rest))))
    }

    fn texts(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
        std::iter::successors(Some(error), |e| e.source())
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_printable_source_is_kept_as_it_is() {
        let kept = printable_source(Box::new(chain(&["outer".into(), "inner".into()])));
        assert!(kept.downcast_ref::<Chain>().is_some());
        assert_eq!(texts(kept.as_ref()), ["outer", "inner"]);
    }

    #[test]
    fn a_source_with_unprintable_causes_is_copied_printable() {
        let long = "y".repeat(5000);
        let copied = printable_source(Box::new(chain(&["fine".into(), "bad\u{1b}[2J\r\nline".into(), long])));
        assert!(copied.downcast_ref::<Chain>().is_none());
        let shown = texts(copied.as_ref());
        assert_eq!(shown[..2], ["fine", "bad[2J line"]);
        assert_eq!(shown[2].chars().count(), 1001);
        assert_eq!(shown.len(), 3);
    }

    #[test]
    fn a_long_chain_is_cut() {
        let many: Vec<String> = (0..100).map(|i| format!("cause {i}")).collect();
        let shown = texts(printable_source(Box::new(chain(&many))).as_ref());
        assert_eq!(shown.len(), MAX_KEPT_CAUSES + 1);
        assert_eq!(shown[MAX_KEPT_CAUSES - 1], format!("cause {}", MAX_KEPT_CAUSES - 1));
        assert_eq!(shown[MAX_KEPT_CAUSES], "(further causes left out)");
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
