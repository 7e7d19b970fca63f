//! What `fgs invoke` prints: the result on stdout, notes on stderr, or one JSON object.

use std::io::{self, Write};

use fgs::{AsyncInvokeOutput, InvokeOutput, InvokeSummary};
use serde::Serialize;
use serde_json::Value;

/// One line on stderr. A stderr that cannot be written to is not worth failing for.
pub(crate) fn note(line: &str) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{}", terminal_safe(line, false));
}

/// Text on stderr (a function's log), ending with a newline. Line breaks and tabs are
/// kept; other control characters are dropped.
pub(crate) fn note_block(text: &str) {
    let text = terminal_safe(text, true);
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stderr.write_all(b"\n");
    }
}

/// Server-supplied text as the terminal may show it: control characters (escape
/// sequences that could rewrite the screen, carriage returns that hide text) dropped,
/// and line breaks too unless `keep_lines`.
pub(crate) fn terminal_safe(text: &str, keep_lines: bool) -> std::borrow::Cow<'_, str> {
    let kept = |c: char| !c.is_control() || (keep_lines && (c == '\n' || c == '\t'));
    if text.chars().all(kept) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.chars().filter(|&c| kept(c)).collect())
}

/// Writes to stdout. A reader that went away (`fgs invoke ... | head -c 10`) is not an
/// error.
pub(crate) fn stdout(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// One JSON object and a newline on stdout.
pub(crate) fn stdout_json(value: &impl Serialize) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    stdout(text.as_bytes())
}

/// The result as JSON when it is JSON, decoding a second time when it is a JSON object
/// or array inside a string (a function that returned serialised JSON).
pub(crate) fn decode_result(result: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(result).ok()?;
    if let Value::String(text) = &value {
        let inner = text.trim_start();
        if inner.starts_with('{') || inner.starts_with('[') {
            if let Ok(inner) = serde_json::from_str::<Value>(text) {
                return Some(inner);
            }
        }
    }
    Some(value)
}

/// The result for a terminal or a pipe: pretty-printed JSON, or else the bytes as they
/// are; ends with a newline.
pub(crate) fn pretty_result(result: &[u8]) -> Vec<u8> {
    let mut bytes = match decode_result(result).and_then(|value| serde_json::to_vec_pretty(&value).ok()) {
        Some(pretty) => pretty,
        None => result.to_vec(),
    };
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes
}

/// `summary: duration 6.8 ms, billed 7 ms, memory 128 MB, used 10.2 MB`.
pub(crate) fn summary_line(summary: &InvokeSummary) -> String {
    let mut parts = Vec::new();
    if let Some(duration) = summary.duration {
        parts.push(format!("duration {duration} ms"));
    }
    if let Some(billed) = summary.billing_duration {
        parts.push(format!("billed {billed} ms"));
    }
    if let Some(memory) = summary.memory_size {
        parts.push(format!("memory {memory} MB"));
    }
    if let Some(used) = summary.memory_used {
        parts.push(format!("used {used} MB"));
    }
    for (key, value) in &summary.additional {
        parts.push(format!("{key} {value}"));
    }
    if parts.is_empty() {
        parts.push("empty".to_owned());
    }
    format!("summary: {}", parts.join(", "))
}

/// `function error: ValueError: name is required (code 1)`.
pub(crate) fn function_error_line(output: &InvokeOutput) -> String {
    let mut line = String::from("function error: ");
    match output.function_error() {
        Ok(Some(error)) => match (error.error_type, error.error_message) {
            (Some(kind), Some(message)) => line.push_str(&format!("{kind}: {message}")),
            (Some(text), None) | (None, Some(text)) => line.push_str(&text),
            (None, None) => line.push_str("the function raised an error"),
        },
        _ => line.push_str("the function raised an error (its result is not an error document)"),
    }
    if let Some(code) = output.function_error_code() {
        line.push_str(&format!(" (X-Func-Err-Code {code})"));
    }
    line
}

/// The object `--output json` prints on success, keys in this order.
#[derive(Debug, Serialize)]
pub(crate) struct OutputJson<'a> {
    request_id: Option<&'a str>,
    status: u16,
    /// Parsed JSON when the result is JSON, else the text.
    result: Option<Value>,
    function_error: Option<FunctionErrorJson>,
    log: Option<&'a str>,
    summary: Option<&'a InvokeSummary>,
    /// Informational parts of the response that were malformed (the result was kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
}

/// What a function that raised returned, with the invocation's error code.
#[derive(Debug, Serialize)]
struct FunctionErrorJson {
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    #[serde(rename = "errorMessage")]
    error_message: Option<String>,
    #[serde(rename = "stackTrace")]
    stack_trace: Option<Vec<String>>,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
}

/// `--output json` of a synchronous invoke; with `raw`, the result is the text as it came.
pub(crate) fn output_json(output: &InvokeOutput, raw: bool) -> OutputJson<'_> {
    let decoded = if raw { None } else { decode_result(output.result()) };
    let result = decoded.unwrap_or_else(|| Value::String(String::from_utf8_lossy(output.result()).into_owned()));
    let function_error = output.is_function_error().then(|| {
        let error = output.function_error().ok().flatten();
        let error_code = output.function_error_code().map(str::to_owned);
        match error {
            Some(error) => FunctionErrorJson {
                error_type: error.error_type,
                error_message: error.error_message,
                stack_trace: error.stack_trace,
                error_code,
            },
            None => FunctionErrorJson {
                error_type: None,
                error_message: None,
                stack_trace: None,
                error_code,
            },
        }
    });
    OutputJson {
        request_id: output.request_id(),
        status: output.status().as_u16(),
        result: Some(result),
        function_error,
        log: output.log(),
        summary: output.summary(),
        problems: output.problems().iter().map(ToString::to_string).collect(),
    }
}

/// `--output json` of an asynchronous invoke: only the request id and status.
pub(crate) fn async_output_json(output: &AsyncInvokeOutput) -> OutputJson<'_> {
    OutputJson {
        request_id: Some(output.request_id()),
        status: output.status().as_u16(),
        result: None,
        function_error: None,
        log: None,
        summary: None,
        problems: Vec::new(),
    }
}

/// The object `--output json` prints on failure.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorJson<'a> {
    error: ErrorBodyJson<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorBodyJson<'a> {
    kind: &'a str,
    status: Option<u16>,
    code: Option<&'a str>,
    message: &'a str,
    request_id: Option<&'a str>,
}

/// `{"error": {"kind", "status", "code", "message", "request_id"}}`.
pub(crate) fn error_json<'a>(
    kind: &'a str,
    status: Option<u16>,
    code: Option<&'a str>,
    message: &'a str,
    request_id: Option<&'a str>,
) -> ErrorJson<'a> {
    ErrorJson {
        error: ErrorBodyJson {
            kind,
            status,
            code,
            message,
            request_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn results_are_decoded_once_or_twice() {
        assert_eq!(decode_result(br#"{"a":1}"#), Some(json!({"a": 1})));
        assert_eq!(
            decode_result(br#""{\"a\":1}""#),
            Some(json!({"a": 1})),
            "JSON in a string"
        );
        assert_eq!(decode_result(br#""[1,2]""#), Some(json!([1, 2])));
        assert_eq!(
            decode_result(br#""123""#),
            Some(json!("123")),
            "a string stays a string"
        );
        assert_eq!(decode_result(br#""{not json""#), Some(json!("{not json")));
        assert_eq!(decode_result(b"plain text"), None);
        assert_eq!(decode_result(b""), None);
    }

    #[test]
    fn pretty_results_end_with_a_newline() {
        assert_eq!(pretty_result(br#"{"a":1}"#), b"{\n  \"a\": 1\n}\n");
        assert_eq!(pretty_result(b"plain text"), b"plain text\n");
        assert_eq!(pretty_result(b"line\n"), b"line\n");
        assert_eq!(pretty_result(&[0xff, 0xfe]), [0xff, 0xfe, b'\n']);
    }

    #[test]
    fn summaries_read_as_a_line() {
        let summary: InvokeSummary = serde_json::from_value(json!({
            "duration": 6.5, "billingDuration": 7, "memorySize": 128, "memoryUsed": 10.25, "extra": "x"
        }))
        .unwrap();
        assert_eq!(
            summary_line(&summary),
            r#"summary: duration 6.5 ms, billed 7 ms, memory 128 MB, used 10.25 MB, extra "x""#
        );
    }
}
