//! Percent-encoding of one URI path segment.

/// Percent-encodes one URI path segment.
///
/// Every byte outside the RFC 3986 *unreserved* set (`A-Z a-z 0-9 - _ . ~`)
/// becomes `%XX` with uppercase hexadecimal digits, so `:` becomes `%3A`, `!`
/// becomes `%21`, a space becomes `%20`, `/` becomes `%2F` and `%` itself
/// becomes `%25` (already encoded text is encoded again). Non-ASCII
/// characters are encoded byte by byte from their UTF-8 form (`é` becomes
/// `%C3%A9`).
///
/// This is the one encoding function of the workspace: the invocation request
/// path and the AK/SK signer's canonical URI both use it, because a signature
/// only verifies if both encode the path identically.
///
/// # Example
///
/// ```
/// use fgs_urn::encode_path_segment;
///
/// assert_eq!(encode_path_segment("hello:!prod"), "hello%3A%21prod");
/// assert_eq!(encode_path_segment("a b~c"), "a%20b~c");
/// assert_eq!(encode_path_segment("café"), "caf%C3%A9");
/// ```
#[must_use]
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::new();
    encode_path_segment_into(segment, &mut out);
    out
}

/// Appends the percent-encoded form of `segment` to `out`.
///
/// Same encoding as [`encode_path_segment`], without allocating a new
/// `String`; useful when building a whole path.
///
/// # Example
///
/// ```
/// use fgs_urn::encode_path_segment_into;
///
/// let mut path = String::from("/v2/functions/");
/// encode_path_segment_into("a:b", &mut path);
/// path.push_str("/invocations");
/// assert_eq!(path, "/v2/functions/a%3Ab/invocations");
/// ```
pub fn encode_path_segment_into(segment: &str, out: &mut String) {
    // Most segments are mostly unreserved, so the input length is a good
    // lower bound that avoids repeated growth.
    out.reserve(segment.len());
    for &byte in segment.as_bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex_upper(byte >> 4));
            out.push(hex_upper(byte & 0x0F));
        }
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// Uppercase hex digit of the low nibble; uppercase because the signer's
/// canonical form (and RFC 3986's recommendation) requires it.
fn hex_upper(nibble: u8) -> char {
    let nibble = nibble & 0x0F;
    if nibble < 10 {
        char::from(b'0' + nibble)
    } else {
        char::from(b'A' + (nibble - 10))
    }
}
