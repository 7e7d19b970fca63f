//! The text of a JSON string, unescaped without serde_json's scratch buffer.
//!
//! A v1 response carries the function's result as a JSON string inside JSON, so every `"`
//! of a JSON result arrives escaped. serde_json unescapes such a string into a scratch
//! buffer and the visitor then copies it out: for a 6 MB result that is the body, the
//! scratch and the copy at once. Here the string is unescaped once, into its final buffer,
//! or in place inside the response body when nothing else shares the body.
//!
//! The input is the text between the quotes of a string that serde_json has already
//! scanned as a `RawValue` (no raw control characters, every escape well formed, `\u`
//! followed by four hex digits). What serde_json leaves to the final parse, pairing UTF-16
//! surrogates, is checked here; anything unexpected is `None`, and the caller lets
//! serde_json parse the string and report it.

/// The length of `text` once unescaped; `None` when an escape is not one this module
/// decodes (a lone surrogate, say).
pub(crate) fn unescaped_len(text: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    let mut rest = text;
    while let Some(at) = rest.iter().position(|&byte| byte == b'\\') {
        let (_, decoded, used) = escape(rest.get(at..)?)?;
        len = len.checked_add(at)?.checked_add(decoded)?;
        rest = rest.get(at.checked_add(used)?..)?;
    }
    len.checked_add(rest.len())
}

/// Unescapes `text` into a new buffer; `None` when an escape is not one this module
/// decodes.
pub(crate) fn unescape(text: &[u8]) -> Option<Vec<u8>> {
    // The text's length is a bound: every escape is longer than what it stands for.
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.iter().position(|&byte| byte == b'\\') {
        let (run, tail) = rest.split_at_checked(at)?;
        out.extend_from_slice(run);
        // Most escapes in a JSON result are `\"`: one byte, decoded here.
        if let Some(byte) = tail.get(1).copied().and_then(simple_escape) {
            out.push(byte);
            rest = tail.get(2..)?;
            continue;
        }
        let (bytes, decoded, used) = escape(tail)?;
        out.extend_from_slice(bytes.get(..decoded)?);
        rest = tail.get(used..)?;
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// Unescapes `text` in place and returns the unescaped length (the text is then
/// `text[..len]`). Each escape is at least as long as what it stands for, so the write
/// position never passes the read position.
///
/// Call it only after [`unescaped_len`] accepted `text`: on an escape it cannot decode it
/// stops with `None`, leaving `text` partly rewritten.
pub(crate) fn unescape_in_place(text: &mut [u8]) -> Option<usize> {
    let mut read = 0usize;
    let mut write = 0usize;
    loop {
        let rest = text.get(read..)?;
        let Some(at) = rest.iter().position(|&byte| byte == b'\\') else {
            let run = rest.len();
            text.copy_within(read..read.checked_add(run)?, write);
            return write.checked_add(run);
        };
        let (bytes, decoded, used) = escape(rest.get(at..)?)?;
        text.copy_within(read..read.checked_add(at)?, write);
        write = write.checked_add(at)?;
        let end = write.checked_add(decoded)?;
        text.get_mut(write..end)?.copy_from_slice(bytes.get(..decoded)?);
        write = end;
        read = read.checked_add(at)?.checked_add(used)?;
    }
}

/// The escape at the start of `text` (which starts with the backslash): the UTF-8 bytes it
/// stands for, how many of them there are, and how many input bytes it takes.
fn escape(text: &[u8]) -> Option<([u8; 4], usize, usize)> {
    let letter = *text.get(1)?;
    if let Some(byte) = simple_escape(letter) {
        return Some(([byte, 0, 0, 0], 1, 2));
    }
    match letter {
        b'u' => {
            let first = hex4(text.get(2..6)?)?;
            let (code, used) = match first {
                0xD800..=0xDBFF => {
                    // A high surrogate is only valid with a low one after it.
                    if text.get(6..8)? != b"\\u" {
                        return None;
                    }
                    let second = hex4(text.get(8..12)?)?;
                    if !(0xDC00..=0xDFFF).contains(&second) {
                        return None;
                    }
                    (0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00), 12)
                }
                0xDC00..=0xDFFF => return None,
                _ => (first, 6),
            };
            let mut bytes = [0u8; 4];
            let decoded = char::from_u32(code)?.encode_utf8(&mut bytes).len();
            Some((bytes, decoded, used))
        }
        _ => None,
    }
}

/// The byte a one-letter escape (`\\` then `letter`) stands for.
fn simple_escape(letter: u8) -> Option<u8> {
    match letter {
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        b'/' => Some(b'/'),
        b'b' => Some(0x08),
        b'f' => Some(0x0C),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        _ => None,
    }
}

/// Four hex digits as a number.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| {
        Some((value << 4) | char::from(digit).to_digit(16)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_json makes of the JSON string `quoted` (with its quotes).
    fn reference(quoted: &str) -> Option<Vec<u8>> {
        serde_json::from_str::<String>(quoted).ok().map(String::into_bytes)
    }

    fn check(quoted: &str) {
        let inner = &quoted.as_bytes()[1..quoted.len() - 1];
        let expected = reference(quoted);
        let copied = unescape(inner);
        // Where this module declines, serde_json is asked; where it decodes, it agrees.
        if let Some(copied) = &copied {
            assert_eq!(Some(copied), expected.as_ref(), "{quoted}");
            assert_eq!(unescaped_len(inner), Some(copied.len()), "{quoted}");
            let mut buffer = inner.to_vec();
            let len = unescape_in_place(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], copied.as_slice(), "{quoted}");
        } else {
            assert_eq!(unescaped_len(inner), None, "{quoted}");
        }
    }

    #[test]
    fn agrees_with_serde_json() {
        for quoted in [
            r#""""#,
            r#""plain""#,
            r#""{\"ok\":true,\"n\":[1,2]}""#,
            r#""\\\"\/\b\f\n\r\t""#,
            r#""caf\u00e9 \u20AC \ud83d\ude00 end""#,
            r#""\u0000\u001f""#,
            r#""ünïcödé as is""#,
            r#""\"""#,
            r#""a\\""#,
        ] {
            check(quoted);
            assert!(unescape(&quoted.as_bytes()[1..quoted.len() - 1]).is_some(), "{quoted}");
        }
    }

    #[test]
    fn declines_what_it_does_not_decode() {
        for quoted in [
            r#""\ud83d""#,
            r#""\ud83d\u0041""#,
            r#""\ude00""#,
            r#""\ud83dx""#,
            r#""\x""#,
            r#""\u12""#,
            r#""trailing\""#,
        ] {
            let inner = &quoted.as_bytes()[1..quoted.len() - 1];
            assert_eq!(unescape(inner), None, "{quoted}");
            assert_eq!(unescaped_len(inner), None, "{quoted}");
        }
    }

    #[test]
    fn every_escaped_byte_round_trips() {
        let text: String = (0u32..0x800).filter_map(char::from_u32).collect();
        let quoted = serde_json::to_string(&text).unwrap();
        check(&quoted);
        // As `\u` escapes too, surrogate pairs included.
        let mut escaped = String::from("\"");
        for unit in "a\u{1F600}\u{e9}".encode_utf16() {
            escaped.push_str(&format!("\\u{unit:04x}"));
        }
        escaped.push('"');
        check(&escaped);
        assert_eq!(
            unescape(&escaped.as_bytes()[1..escaped.len() - 1]).unwrap(),
            "a\u{1F600}\u{e9}".as_bytes()
        );
    }
}
