//! Percent-decoding, the inverse of [`encode_path_segment`](crate::encode_path_segment).

use std::borrow::Cow;

/// Percent-decodes `input`, keeping malformed escapes literally.
///
/// Every `%XX` with two hexadecimal digits (either case) becomes the byte it
/// names; a `%` that does not start such an escape (`%zz`, `%4`, a final `%`)
/// is kept as it is, together with whatever follows it. `+` stays `+` (this
/// is path and RFC 3986 decoding, not form decoding). The result is bytes,
/// because an escape may name any byte: whether they are UTF-8 is the
/// caller's question.
///
/// Input without any valid escape is returned borrowed. This is the rule the
/// AK/SK signer's canonicalisation applies; [`percent_decode_strict`] refuses
/// malformed escapes instead.
///
/// Decoding reverses [`encode_path_segment`](crate::encode_path_segment):
/// `percent_decode(encode_path_segment(s).as_bytes()) == s.as_bytes()` for every `s`.
///
/// # Example
///
/// ```
/// use fgs_urn::percent_decode;
///
/// assert_eq!(&*percent_decode(b"hello%3A%21prod"), b"hello:!prod");
/// assert_eq!(&*percent_decode(b"caf%c3%A9"), "café".as_bytes());
/// assert_eq!(&*percent_decode(b"100%zz+%4"), b"100%zz+%4");
/// assert_eq!(&*percent_decode(b"%FF"), [0xFF]);
/// ```
#[must_use]
pub fn percent_decode(input: &[u8]) -> Cow<'_, [u8]> {
    match decode(input, false) {
        Some(decoded) => decoded,
        // Unreachable: lenient decoding never refuses; keeping the input is its rule anyway.
        None => Cow::Borrowed(input),
    }
}

/// Percent-decodes `input`, refusing malformed escapes.
///
/// Same as [`percent_decode`], except that a `%` not followed by two
/// hexadecimal digits makes the whole input invalid (`None`), for servers
/// that reject such paths rather than guess.
///
/// # Example
///
/// ```
/// use fgs_urn::percent_decode_strict;
///
/// assert_eq!(percent_decode_strict(b"a%3Ab").as_deref(), Some(&b"a:b"[..]));
/// assert_eq!(percent_decode_strict(b"plain").as_deref(), Some(&b"plain"[..]));
/// assert_eq!(percent_decode_strict(b"%zz"), None);
/// assert_eq!(percent_decode_strict(b"ends in %4"), None);
/// ```
#[must_use]
pub fn percent_decode_strict(input: &[u8]) -> Option<Cow<'_, [u8]>> {
    decode(input, true)
}

/// The byte that a `%XX` escape starting at `index` of `bytes` names, if a
/// valid escape starts there.
///
/// The building block of [`percent_decode`], for callers that decode while
/// scanning, such as a canonicaliser that splits a path on decoded `/` and
/// still needs the raw positions.
///
/// # Example
///
/// ```
/// use fgs_urn::percent_escape_at;
///
/// assert_eq!(percent_escape_at(b"a%2Fb", 1), Some(b'/'));
/// assert_eq!(percent_escape_at(b"a%2Fb", 0), None);
/// assert_eq!(percent_escape_at(b"%2", 0), None);
/// ```
#[must_use]
pub fn percent_escape_at(bytes: &[u8], index: usize) -> Option<u8> {
    match bytes.get(index..index.checked_add(3)?)? {
        [b'%', high, low] => Some((hex_value(*high)? << 4) | hex_value(*low)?),
        _ => None,
    }
}

/// Decodes `input`; `None` only when `strict` and an escape is malformed.
fn decode(input: &[u8], strict: bool) -> Option<Cow<'_, [u8]>> {
    let Some(first) = input.iter().position(|&byte| byte == b'%') else {
        return Some(Cow::Borrowed(input));
    };
    let mut decoded = Vec::with_capacity(input.len());
    decoded.extend_from_slice(input.get(..first).unwrap_or_default());
    let mut changed = false;
    let mut index = first;
    while let Some(&byte) = input.get(index) {
        match percent_escape_at(input, index) {
            Some(escaped) => {
                decoded.push(escaped);
                changed = true;
                index += 3;
            }
            None if byte == b'%' && strict => return None,
            None => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    if changed {
        Some(Cow::Owned(decoded))
    } else {
        Some(Cow::Borrowed(input))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}
