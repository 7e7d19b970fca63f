//! What the generated code in [`crate::generated`] builds on: the operation traits, the
//! header readers and writers, and the one path-segment encoder of the workspace.
//!
//! Most users never touch this module; it is public so that transports, auth plugins and
//! test servers can read the same metadata the client uses.

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use fgs_urn::{encode_path_segment, encode_path_segment_into};

pub(crate) use crate::evidence::quoted_prefix;

/// Static facts about one operation, taken from the API description.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OperationInfo {
    /// `operationId`, e.g. `invokeFunction`.
    pub id: &'static str,
    /// HTTP method.
    pub method: http::Method,
    /// Path template with `{placeholders}`.
    pub path_template: &'static str,
    /// Media types the request body may have.
    pub request_content_types: &'static [&'static str],
    /// The largest request body the service accepts, in bytes.
    pub max_body_bytes: Option<u64>,
    /// The longest the service runs one call, in seconds.
    pub max_run_seconds: Option<u64>,
    /// The status of a successful response.
    pub success_status: u16,
}

/// One operation: its metadata and the types of its request and responses.
pub trait Operation {
    /// Metadata.
    const INFO: OperationInfo;
    /// Path and header parameters, which may borrow their text.
    type Request<'a>: RequestParts + Send + Sync;
    /// Typed headers of the successful response.
    type ResponseHeaders: FromHeaderMap + Send;
    /// Typed headers of an error response.
    type ErrorHeaders: FromHeaderMap + Send;
    /// JSON body of an error response.
    type ErrorBody: DeserializeOwned + Send;
}

/// Turns request parameters into a path and headers.
pub trait RequestParts {
    /// The request path with every parameter percent-encoded as one segment.
    fn path(&self) -> String;
    /// Adds the header parameters that are set.
    fn write_headers(&self, headers: &mut HeaderMap) -> Result<(), InvalidHeaderValue>;
}

/// Reads a typed header set from a response.
///
/// Optional headers are informational: one that is absent is `None`, and one that is
/// present but does not hold what the API description says is `None` too, with the
/// problem pushed to `problems` (the raw value stays in the [`HeaderMap`]). Only a
/// missing or malformed *required* header is an `Err`.
pub trait FromHeaderMap: Sized {
    /// Reads every declared header.
    fn from_header_map(headers: &HeaderMap, problems: &mut Vec<HeaderDecodeError>) -> Result<Self, HeaderDecodeError>;
}

impl FromHeaderMap for () {
    fn from_header_map(
        _headers: &HeaderMap,
        _problems: &mut Vec<HeaderDecodeError>,
    ) -> Result<Self, HeaderDecodeError> {
        Ok(())
    }
}

/// Keeps a well-formed optional header, and records the problem of a malformed one.
pub fn optional_header<T>(
    read: Result<Option<T>, HeaderDecodeError>,
    problems: &mut Vec<HeaderDecodeError>,
) -> Option<T> {
    read.unwrap_or_else(|problem| {
        problems.push(problem);
        None
    })
}

/// What the error-code catalogue says about one code with one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ErrorCodeInfo {
    /// Wire code, e.g. `FSS.0429`.
    pub code: &'static str,
    /// HTTP status it comes with.
    pub status: u16,
    /// What it means.
    pub meaning: &'static str,
    /// The service is known not to have run the function, so sending the request again
    /// cannot run it twice.
    pub not_executed: bool,
    /// A later attempt may succeed (throttling, a passing outage).
    pub transient: bool,
}

/// A request header value that HTTP cannot carry (a control character, for example).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the value given for request header `{header}` is not a valid header value (visible ASCII expected)")]
pub struct InvalidHeaderValue {
    /// The header.
    pub header: HeaderName,
}

/// A response header that is present but does not hold what the API description says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("response header `{header}` {problem}")]
pub struct HeaderDecodeError {
    /// The header, as the API description spells it.
    pub header: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Sets `name` to `value`, replacing earlier values.
pub fn insert_header(headers: &mut HeaderMap, name: HeaderName, value: &str) -> Result<(), InvalidHeaderValue> {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
            Ok(())
        }
        Err(_) => Err(InvalidHeaderValue { header: name }),
    }
}

/// Sets `name` to a value made beforehand, replacing earlier values.
pub fn insert_header_value(
    headers: &mut HeaderMap,
    name: HeaderName,
    value: Result<HeaderValue, http::header::InvalidHeaderValue>,
) -> Result<(), InvalidHeaderValue> {
    match value {
        Ok(value) => {
            headers.insert(name, value);
            Ok(())
        }
        Err(_) => Err(InvalidHeaderValue { header: name }),
    }
}

/// JSON text for a header of `content: application/json`.
pub fn json_header_text<T: Serialize>(name: HeaderName, value: &T) -> Result<String, InvalidHeaderValue> {
    // Serializing plain generated types cannot fail; if it ever does, the header is
    // reported as invalid rather than sent half-built.
    serde_json::to_string(value).map_err(|_| InvalidHeaderValue { header: name })
}

/// The trimmed text of a header; `None` when absent.
pub(crate) fn header_text<'a>(
    headers: &'a HeaderMap,
    key: &HeaderName,
    name: &'static str,
) -> Result<Option<&'a str>, HeaderDecodeError> {
    // Looked up by the prepared name: a `&str` would be lower-cased and hashed anew.
    match headers.get(key) {
        None => Ok(None),
        Some(value) => std::str::from_utf8(value.as_bytes())
            .map(|text| Some(trim(text)))
            .map_err(|_| HeaderDecodeError {
                header: name,
                problem: "is not valid UTF-8".into(),
            }),
    }
}

/// `text.trim()`, without walking the ends character by character in the usual case of
/// a value that starts and ends with a visible ASCII character (which is no whitespace).
fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// Reads a text header.
pub fn header_string(
    headers: &HeaderMap,
    key: &HeaderName,
    name: &'static str,
) -> Result<Option<String>, HeaderDecodeError> {
    Ok(header_text(headers, key, name)?.map(str::to_owned))
}

/// Reads a boolean header: `true`/`false` in any case, or `1`/`0`.
pub fn header_bool(
    headers: &HeaderMap,
    key: &HeaderName,
    name: &'static str,
) -> Result<Option<bool>, HeaderDecodeError> {
    header_text(headers, key, name)?
        .map(|text| {
            if text.eq_ignore_ascii_case("true") || text == "1" {
                Ok(true)
            } else if text.eq_ignore_ascii_case("false") || text == "0" {
                Ok(false)
            } else {
                Err(HeaderDecodeError {
                    header: name,
                    problem: format!("is {}, expected true, false, 1 or 0", quoted_prefix(text)),
                })
            }
        })
        .transpose()
}

/// Reads an integer header.
pub fn header_integer(
    headers: &HeaderMap,
    key: &HeaderName,
    name: &'static str,
) -> Result<Option<i64>, HeaderDecodeError> {
    header_text(headers, key, name)?
        .map(|text| {
            text.parse().map_err(|_| HeaderDecodeError {
                header: name,
                problem: format!("is {}, expected an integer", quoted_prefix(text)),
            })
        })
        .transpose()
}

/// Reads a number header.
pub fn header_number(
    headers: &HeaderMap,
    key: &HeaderName,
    name: &'static str,
) -> Result<Option<f64>, HeaderDecodeError> {
    header_text(headers, key, name)?
        .map(|text| {
            text.parse().map_err(|_| HeaderDecodeError {
                header: name,
                problem: format!("is {}, expected a number", quoted_prefix(text)),
            })
        })
        .transpose()
}

/// Reads an enumeration header; unknown values are kept, not rejected.
pub fn header_enum<T: for<'a> From<&'a str>>(
    headers: &HeaderMap,
    key: &HeaderName,
    name: &'static str,
) -> Result<Option<T>, HeaderDecodeError> {
    Ok(header_text(headers, key, name)?.map(T::from))
}

/// Reads a header holding a JSON document.
pub fn header_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    key: &HeaderName,
    name: &'static str,
) -> Result<Option<T>, HeaderDecodeError> {
    header_text(headers, key, name)?
        .map(|text| {
            serde_json::from_str(text).map_err(|e| HeaderDecodeError {
                header: name,
                problem: crate::evidence::bounded(
                    format!("is not the expected JSON ({}): {e}", quoted_prefix(text)),
                    crate::evidence::MAX_KEPT_CHARS,
                ),
            })
        })
        .transpose()
}

/// Turns an absent required header into an error.
pub fn required_header<T>(name: &'static str, value: Option<T>) -> Result<T, HeaderDecodeError> {
    value.ok_or(HeaderDecodeError {
        header: name,
        problem: "is missing".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_quick_trim_is_str_trim() {
        for text in [
            "",
            " ",
            "v1",
            " v1",
            "v1 ",
            "\tv1\t",
            "a",
            "a b",
            "\u{a0}v1",
            "v1\u{3000}",
            "é",
            "\u{a0}",
            "x\u{85}",
        ] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn reads_typed_headers() {
        let map = headers(&[
            ("x-flag", "True"),
            ("x-int", " 42 "),
            ("x-num", "1.5"),
            ("x-json", r#"{"a":1}"#),
        ]);
        assert_eq!(
            header_bool(&map, &HeaderName::from_static("x-flag"), "X-Flag"),
            Ok(Some(true))
        );
        assert_eq!(
            header_integer(&map, &HeaderName::from_static("x-int"), "X-Int"),
            Ok(Some(42))
        );
        assert_eq!(
            header_number(&map, &HeaderName::from_static("x-num"), "X-Num"),
            Ok(Some(1.5))
        );
        assert_eq!(
            header_string(&map, &HeaderName::from_static("x-missing"), "X-Missing"),
            Ok(None)
        );
        let json: Option<serde_json::Value> = header_json(&map, &HeaderName::from_static("x-json"), "X-Json").unwrap();
        assert_eq!(json, Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn reports_bad_headers_by_name() {
        let map = headers(&[("x-flag", "yes"), ("x-json", "{")]);
        let err = header_bool(&map, &HeaderName::from_static("x-flag"), "X-Flag").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"response header `X-Flag` is "yes", expected true, false, 1 or 0"#
        );
        assert!(header_json::<serde_json::Value>(&map, &HeaderName::from_static("x-json"), "X-Json").is_err());
        assert_eq!(
            required_header::<String>("X-Id", None).unwrap_err().problem,
            "is missing"
        );
    }

    #[test]
    fn refuses_unsendable_values() {
        let mut map = HeaderMap::new();
        let err = insert_header(&mut map, HeaderName::from_static("x-a"), "line\nbreak").unwrap_err();
        assert_eq!(err.header, "x-a");
        assert!(map.is_empty());
    }
}
