//! Canonicalisation (steps 2–6 of the algorithm): URI, query string, signed headers and the
//! canonical request itself.

use std::borrow::Cow;

use fgs_urn::{encode_path_segment_into, is_unreserved, percent_decode, percent_escape_at};
use http::{HeaderMap, HeaderName, Method, Uri};

use crate::error::{SigningError, SigningErrorKind};
use crate::headers::SECURITY_TOKEN;

/// The canonical URI of a request path (step 2 of the algorithm).
///
/// The path is percent-decoded, split on `/` (so an encoded `%2F` separates
/// segments exactly like a literal `/`, as in Huawei's Python signer, which
/// decodes the whole path before splitting it), every segment is
/// percent-encoded again keeping only `A-Z a-z 0-9 - _ . ~` (with
/// [`fgs_urn::encode_path_segment_into`], uppercase hexadecimal), the
/// segments are joined with `/` and a `/` is appended unless the result
/// already ends with one.
///
/// Hence `:` and `%3A` give the same canonical URI, and so do `%3a` and
/// `%3A`. A `%` that does not start a valid escape (`%zz`, `%4`) is kept
/// literally and then encoded as `%25`. Anything from a `?` on is ignored.
///
/// **Non-UTF-8 segments.** If the decoded bytes of a segment are not valid
/// UTF-8 (for example `%FF`), the segment is *not* decoded lossily; its text
/// as sent is encoded instead (`%FF` becomes `%25FF`). Python's signer would
/// replace the bytes by U+FFFD, which makes different paths sign alike; such
/// paths therefore canonicalise differently here and in Python, but
/// consistently between this crate's signer and verifier.
///
/// # Example
///
/// ```
/// use fgs_signing::canonical_uri;
///
/// assert_eq!(canonical_uri("/v2/fgs/functions/urn%3Afss/invocations"), "/v2/fgs/functions/urn%3Afss/invocations/");
/// assert_eq!(canonical_uri("/v2/fgs/functions/urn:fss/invocations"), "/v2/fgs/functions/urn%3Afss/invocations/");
/// assert_eq!(canonical_uri("/a/b!c/"), "/a/b%21c/");
/// ```
#[must_use]
pub fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len().saturating_add(1));
    push_canonical_uri(path, &mut out);
    out
}

/// Appends [`canonical_uri`] of `path` to `out`: in place for a path that is already
/// canonical (what the SDK builds), the long way otherwise.
fn push_canonical_uri(path: &str, out: &mut String) {
    let path = path.split_once('?').map_or(path, |(path, _query)| path);
    if is_canonical(path) {
        out.push_str(path);
        if !path.ends_with('/') {
            out.push('/');
        }
    } else {
        out.push_str(&recanonicalized(path));
    }
}

/// [`canonical_uri`] of a path without its query, the long way: each segment decoded and
/// encoded again.
fn recanonicalized(path: &str) -> String {
    let mut out = String::with_capacity(path.len().saturating_add(1));
    let bytes = path.as_bytes();
    let mut decoded = Vec::new();
    let mut segment_start = 0;
    let mut index = 0;
    while index < bytes.len() {
        let (byte, width) = match percent_escape_at(bytes, index) {
            Some(byte) => (byte, 3),
            None => (bytes.get(index).copied().unwrap_or(b'/'), 1),
        };
        if byte == b'/' {
            push_segment(path.get(segment_start..index).unwrap_or(""), &decoded, &mut out);
            out.push('/');
            decoded.clear();
            segment_start = index + width;
        } else {
            decoded.push(byte);
        }
        index += width;
    }
    push_segment(path.get(segment_start..).unwrap_or(""), &decoded, &mut out);
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Whether decoding and re-encoding each segment of `path` would give it back unchanged,
/// as it does for a path this SDK built (`:` as `%3A`): only unreserved bytes, `/`, and
/// uppercase escapes of ASCII bytes that are neither unreserved nor `/`. Anything else
/// takes the long way.
fn is_canonical(path: &str) -> bool {
    let upper_hex = |digit: u8| match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    };
    let mut rest = path.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = match byte {
            b'%' => match tail {
                [high, low, after @ ..] => match (upper_hex(*high), upper_hex(*low)) {
                    (Some(high), Some(low)) => {
                        let escaped = (high << 4) | low;
                        if escaped >= 0x80 || escaped == b'/' || is_unreserved(escaped) {
                            return false;
                        }
                        after
                    }
                    _ => return false,
                },
                _ => return false,
            },
            b'/' => tail,
            _ if is_unreserved(byte) => tail,
            _ => return false,
        };
    }
    true
}

/// Encodes one decoded path segment, falling back to the raw text when the
/// decoded bytes are not UTF-8 (see [`canonical_uri`]).
fn push_segment(raw: &str, decoded: &[u8], out: &mut String) {
    match std::str::from_utf8(decoded) {
        Ok(text) => encode_path_segment_into(text, out),
        Err(_) => encode_path_segment_into(raw, out),
    }
}

/// Percent-decodes `raw` with [`fgs_urn::percent_decode`] (`+` stays `+`; invalid escapes stay
/// literal).
///
/// Returns the decoded text if it is valid UTF-8, and `raw` unchanged
/// otherwise (see [`canonical_uri`] for why nothing is decoded lossily).
fn decode_component(raw: &str) -> Cow<'_, str> {
    match percent_decode(raw.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(raw),
        Cow::Owned(decoded) => match String::from_utf8(decoded) {
            Ok(text) => Cow::Owned(text),
            Err(_) => Cow::Borrowed(raw),
        },
    }
}

/// The canonical query string of a raw query (step 3 of the algorithm).
///
/// The query (without the leading `?`) is split on `&` (empty pieces are
/// skipped), each piece on its first `=` (a piece without `=` has an empty
/// value), keys and values are percent-decoded (`+` is *not* a space), the
/// pairs are sorted by key and then by value (byte order, which for UTF-8 is
/// Python's code-point order), keys and values are encoded again keeping only
/// `A-Z a-z 0-9 - _ . ~` (a space becomes `%20`), and the pairs are joined as
/// `k=v` with `&`. Repeated keys stay repeated pairs. No query, or an empty
/// one, gives the empty string.
///
/// A key or value whose decoded bytes are not UTF-8 is encoded from its text
/// as sent, like a path segment in [`canonical_uri`].
///
/// # Example
///
/// ```
/// use fgs_signing::canonical_query;
///
/// assert_eq!(canonical_query(Some("b=2%203&a=x%3Ay")), "a=x%3Ay&b=2%203");
/// assert_eq!(canonical_query(Some("k=2&k=1&flag")), "flag=&k=1&k=2");
/// assert_eq!(canonical_query(None), "");
/// ```
#[must_use]
pub fn canonical_query(query: Option<&str>) -> String {
    let Some(query) = query else {
        return String::new();
    };
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            (decode_component(key), decode_component(value))
        })
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len());
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        encode_path_segment_into(key, &mut out);
        out.push('=');
        encode_path_segment_into(value, &mut out);
    }
    out
}

/// The headers Huawei's Python signer signs by default (step 4 of the
/// algorithm): the name of every header in `headers` that contains no `_`,
/// lowercase, sorted ascending, each name once.
///
/// A signer may sign any subset that includes `x-sdk-date`; a verifier uses
/// the list from the `Authorization` header instead.
///
/// # Example
///
/// ```
/// use fgs_signing::default_signed_headers;
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("X-Sdk-Date", HeaderValue::from_static("20240101T120000Z"));
/// headers.insert("Content-Type", HeaderValue::from_static("application/json"));
/// headers.insert("X_Private", HeaderValue::from_static("not signed"));
/// assert_eq!(default_signed_headers(&headers), ["content-type", "x-sdk-date"]);
/// ```
#[must_use]
pub fn default_signed_headers(headers: &HeaderMap) -> Vec<String> {
    signed_header_names(headers).into_iter().map(str::to_owned).collect()
}

/// [`default_signed_headers`], borrowed from `headers`: a `HeaderName` is always lowercase,
/// so the names need no copy.
pub(crate) fn signed_header_names(headers: &HeaderMap) -> Vec<&str> {
    let mut names: Vec<&str> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|name| !name.contains('_'))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The canonical request (steps 2–6 of the algorithm):
///
/// ```text
/// METHOD\nCanonicalURI\nCanonicalQuery\nCanonicalHeaders\nSignedHeaders\nPayloadHash
/// ```
///
/// * `METHOD` is the method in uppercase;
/// * `CanonicalURI` is [`canonical_uri`] of `uri.path()` and
///   `CanonicalQuery` is [`canonical_query`] of `uri.query()`;
/// * `CanonicalHeaders` has one line `name:value\n` for every name of
///   `signed_headers`, in the given order, where `value` is the header value
///   read as UTF-8 and trimmed; if the header occurs several times, its
///   trimmed values are joined with `,`. An empty `signed_headers` gives a
///   single `\n`, like Huawei's signers;
/// * `SignedHeaders` is `signed_headers` joined with `;`;
/// * `PayloadHash` is `payload_hash` as given (see [`payload_hash`](crate::payload_hash)).
///
/// A signer normally passes [`default_signed_headers`]; a verifier passes
/// the names from the `Authorization` header. Note that the `Host` header is
/// only signed if it is in `headers` (HTTP/2 servers may have to add it from
/// the URI authority first).
///
/// # Errors
///
/// A [`SigningError`] if a signed header name is empty, invalid or not
/// lowercase ([`SigningErrorKind::InvalidSignedHeaderName`]), is missing from
/// `headers` ([`SigningErrorKind::MissingSignedHeader`]) or has a value that
/// is not UTF-8 ([`SigningErrorKind::InvalidHeaderValue`]).
pub fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, SigningError> {
    build_canonical_request(method, uri, headers, signed_headers, payload_hash, false)
}

/// [`canonical_request`], optionally with every `X-Security-Token` value
/// replaced by `***` in the header lines.
pub(crate) fn build_canonical_request<N: AsRef<str>>(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[N],
    payload_hash: &str,
    redact_security_token: bool,
) -> Result<String, SigningError> {
    // Written into one buffer, sized for a typical request, without intermediate strings:
    // this runs on every signed call.
    let mut out = String::with_capacity(512);
    out.extend(method.as_str().chars().map(|c| c.to_ascii_uppercase()));
    out.push('\n');
    push_canonical_uri(uri.path(), &mut out);
    out.push('\n');
    out.push_str(&canonical_query(uri.query()));
    out.push('\n');
    for name in signed_headers {
        let name = name.as_ref();
        check_signed_header_name(name)?;
        out.push_str(name);
        out.push(':');
        if redact_security_token && name == SECURITY_TOKEN.as_str() {
            out.push_str("***");
        } else {
            push_header_value(headers, name, &mut out)?;
        }
        out.push('\n');
    }
    if signed_headers.is_empty() {
        out.push('\n');
    }
    out.push('\n');
    push_joined(signed_headers, &mut out);
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// Appends `names` joined with `;` (the `SignedHeaders` of the canonical request and of the
/// `Authorization` header).
pub(crate) fn push_joined<N: AsRef<str>>(names: &[N], out: &mut String) {
    for (index, name) in names.iter().enumerate() {
        if index > 0 {
            out.push(';');
        }
        out.push_str(name.as_ref());
    }
}

/// [`signed_header_name`] without making a `HeaderName`: a valid lowercase name is one that
/// `HeaderName` accepts and keeps as it is, which is a non-empty run of token characters
/// (RFC 9110) none of which is an uppercase letter.
fn check_signed_header_name(name: &str) -> Result<(), SigningError> {
    let is_lowercase_token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b));
    if is_lowercase_token {
        Ok(())
    } else {
        // The long way, for its precise message.
        signed_header_name(name).map(|_| ())
    }
}

/// Checks that `name` is a valid lowercase header name.
pub(crate) fn signed_header_name(name: &str) -> Result<HeaderName, SigningError> {
    let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        SigningError::new(
            SigningErrorKind::InvalidSignedHeaderName,
            format!("signed header name {name:?} is not a valid header name"),
        )
    })?;
    if parsed.as_str() != name {
        return Err(SigningError::new(
            SigningErrorKind::InvalidSignedHeaderName,
            format!("signed header name {name:?} is not lowercase"),
        ));
    }
    Ok(parsed)
}

/// Appends the canonical value of header `name` (values trimmed, joined with
/// `,`).
fn push_header_value(headers: &HeaderMap, name: &str, out: &mut String) -> Result<(), SigningError> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Err(SigningError::new(
            SigningErrorKind::MissingSignedHeader,
            format!("signed header {name:?} is missing from the request"),
        ));
    }
    for (index, value) in values.enumerate() {
        let text = std::str::from_utf8(value.as_bytes()).map_err(|_| {
            SigningError::new(
                SigningErrorKind::InvalidHeaderValue,
                format!("the value of signed header {name:?} is not valid UTF-8"),
            )
        })?;
        if index > 0 {
            out.push(',');
        }
        out.push_str(text.trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut only takes paths that the long way gives back unchanged, and leaves
    /// every path whose canonical form differs to the long way.
    #[test]
    fn the_shortcut_agrees_with_the_long_way() {
        let alphabet = [
            "a", "Z", "0", "-", "~", "/", "%3A", "%21", "%2F", "%41", "%3a", "%C3%A9", "%", "%G1", ":", "é", " ",
        ];
        let mut taken = 0;
        // Every path of up to three pieces of the alphabet.
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let path = format!("/{a}{b}{c}");
                    let long = recanonicalized(&path);
                    let mut shortcut = path.clone();
                    if !shortcut.ends_with('/') {
                        shortcut.push('/');
                    }
                    if is_canonical(&path) {
                        taken += 1;
                        assert_eq!(shortcut, long, "{path}");
                    }
                    assert_eq!(canonical_uri(&path), long, "{path}");
                }
            }
        }
        assert!(taken > 100, "the shortcut was taken {taken} times");
        let urn = "/v2/p/fgs/functions/urn%3Afss%3Acn-north-4%3Ap%3Afunction%3Adefault%3Ahello%3Alatest/invocations";
        assert!(is_canonical(urn));
    }
}
