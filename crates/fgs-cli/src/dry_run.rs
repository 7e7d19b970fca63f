//! `fgs invoke --dry-run`: the request the client would send, built and signed by the
//! SDK as for a real call, printed instead of sent.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fgs::async_trait;
use fgs::generated::operations::{AKSK_SIGNATURE_HEADER, IAM_TOKEN_HEADER};
use fgs::transport::{Delivery, SendOptions, Transport, TransportError};

/// A transport that keeps the request it is given and sends nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct DryRunTransport {
    captured: Arc<Mutex<Option<http::Request<Bytes>>>>,
}

/// What [`DryRunTransport`] answers: the call stops here (and is not retried: the
/// client is built with no retries for a dry run).
#[derive(Debug)]
struct NotSent;

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dry run: the request was not sent")
    }
}

impl std::error::Error for NotSent {}

#[async_trait]
impl Transport for DryRunTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        _options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        if let Ok(mut captured) = self.captured.lock() {
            captured.get_or_insert(request);
        }
        Err(TransportError::other(Delivery::NotSent, NotSent))
    }
}

impl DryRunTransport {
    /// The request the client handed over, if it got that far.
    pub(crate) fn take(&self) -> Option<http::Request<Bytes>> {
        self.captured.lock().ok()?.take()
    }
}

/// The request as text: the request line, each header (credentials as `<redacted>`) and
/// the body's size. Header values are made terminal-safe.
pub(crate) fn describe(request: &http::Request<Bytes>) -> String {
    let mut text = format!("{} {}\n", request.method(), request.uri());
    for (name, value) in request.headers() {
        let secret = value.is_sensitive()
            || *name == AKSK_SIGNATURE_HEADER
            || *name == IAM_TOKEN_HEADER
            || *name == http::header::PROXY_AUTHORIZATION;
        let shown = if secret {
            std::borrow::Cow::Borrowed("<redacted>")
        } else {
            String::from_utf8_lossy(value.as_bytes())
        };
        text.push_str(&format!("{name}: {}\n", crate::render::terminal_safe(&shown, false)));
    }
    text.push_str(&format!(
        "\n({} bytes of body, not sent: --dry-run)\n",
        request.body().len()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted_and_the_rest_shown() {
        let mut token = http::HeaderValue::from_static("secret-token");
        token.set_sensitive(true);
        let request = http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:8000/v2/p/fgs/functions/u/invocations")
            .header("content-type", "application/json")
            .header(AKSK_SIGNATURE_HEADER, "SDK-HMAC-SHA256 Access=AK, Signature=abc")
            .header("x-security-token", token)
            .header("x-note", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(Bytes::from_static(b"{\"a\":1}"))
            .unwrap();
        let text = describe(&request);
        assert!(
            text.starts_with("POST http://127.0.0.1:8000/v2/p/fgs/functions/u/invocations\n"),
            "{text}"
        );
        assert!(text.contains("content-type: application/json\n"), "{text}");
        assert!(text.contains("authorization: <redacted>\n"), "{text}");
        assert!(text.contains("x-security-token: <redacted>\n"), "{text}");
        assert!(text.contains("x-note: caf\u{fffd}\n"), "{text}");
        assert!(text.ends_with("(7 bytes of body, not sent: --dry-run)\n"), "{text}");
        assert!(
            !text.contains("secret-token") && !text.contains("Signature=abc"),
            "{text}"
        );
    }
}
