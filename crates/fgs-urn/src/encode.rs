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
    // Runs of unreserved bytes are copied whole (a URN is mostly such runs between `:`s).
    // A run starts after an escaped byte and holds only ASCII, so its ends are character
    // boundaries; an empty "run" between two escaped bytes of one character is skipped.
    out.reserve(segment.len());
    let mut run_start = 0;
    for (at, &byte) in segment.as_bytes().iter().enumerate() {
        if is_unreserved(byte) {
            continue;
        }
        out.push_str(segment.get(run_start..at).unwrap_or_default());
        out.push('%');
        out.push(hex_upper(byte >> 4));
        out.push(hex_upper(byte & 0x0F));
        run_start = at + 1;
    }
    out.push_str(segment.get(run_start..).unwrap_or_default());
}

/// Whether `byte` is in the RFC 3986 *unreserved* set (`A-Z a-z 0-9 - _ . ~`), which
/// [`encode_path_segment`] leaves as it is.
///
/// ```
/// assert!(fgs_urn::is_unreserved(b'~'));
/// assert!(!fgs_urn::is_unreserved(b':'));
/// ```
#[must_use]
pub fn is_unreserved(byte: u8) -> bool {
    UNRESERVED[usize::from(byte)]
}

/// `A-Z a-z 0-9 - _ . ~`, by byte: a table, since the path of every request is encoded.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0u8;
    loop {
        table[byte as usize] = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        if byte == u8::MAX {
            break table;
        }
        byte += 1;
    }
};

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
