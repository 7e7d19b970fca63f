//! An independent oracle for the client's AK/SK path.
//!
//! The end-to-end AK/SK tests send through the client and let the emulator verify, but the
//! emulator verifies with the same `fgs-signing` code that signed, so a bug shared by both
//! would pass. Here the whole client path (URN encoding, the headers the invoke builder
//! writes, `Host`, `X-Project-Id`, `X-Sdk-Date` from a fixed clock, the payload hash) signs
//! a request, and its `Authorization` must equal the one Huawei's official Python signer
//! computed for the same inputs (`crates/fgs-signing/tests/data/aksk-vectors.json`).
//!
//! Every vector whose inputs the client can reproduce exactly is checked: a `POST` of the
//! invoke path with no query string, signing exactly `Content-Type`, `Host`,
//! `X-Cff-Log-Type`, `X-CFF-Request-Version`, `X-Project-Id` and `X-Sdk-Date`. The official
//! SDK also signs its `User-Agent` and the vectors have none, so a [`Hook`] (which runs before
//! authentication) removes the client's; nothing else is changed by hand. The vector with a
//! query string (invocations take none) and the VPC-list vector of the signing guide (another
//! service's path) cannot be sent by this client and are left to `fgs-signing`'s own tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fgs::async_trait;
use fgs::auth::{AkSkAuth, Credentials, ManualClock};
use fgs::bytes::Bytes;
use fgs::hooks::{Hook, HookContext};
use fgs::http;
use fgs::transport::{SendOptions, Transport, TransportError};
use fgs::{Client, FunctionUrn, ResponseVersion};
use serde_json::{Value, json};

const VECTORS: &str = include_str!("../../crates/fgs-signing/tests/data/aksk-vectors.json");
const URN: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest";

/// The headers a reproducible vector signs: what the client sends for an invoke with the
/// log tail and the `v1` response version, without `User-Agent`.
const CLIENT_HEADERS: [&str; 6] = [
    "content-type",
    "host",
    "x-cff-log-type",
    "x-cff-request-version",
    "x-project-id",
    "x-sdk-date",
];

/// Keeps every request and answers with a 200 `v1` invoke response.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Vec<http::Request<Bytes>>>>);

#[async_trait]
impl Transport for Capture {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        _options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.0.lock().unwrap().push(request);
        let body = json!({ "request_id": "oracle", "result": "\"ok\"", "log": "", "status": 200 });
        Ok(http::Response::builder()
            .status(200)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(body.to_string()))
            .unwrap())
    }
}

/// Removes the `User-Agent` the client adds, which the vectors were computed without.
#[derive(Debug)]
struct WithoutUserAgent;

impl Hook for WithoutUserAgent {
    fn before_send(
        &self,
        request: &mut http::Request<Bytes>,
        _context: &HookContext<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        request.headers_mut().remove(http::header::USER_AGENT);
        Ok(())
    }
}

/// `YYYYMMDDTHHMMSSZ` as a time (days from the civil date, Howard Hinnant's algorithm).
fn sdk_date(text: &str) -> SystemTime {
    assert_eq!(text.len(), 16, "{text}");
    let n = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap() };
    let (year, month, day) = (n(0..4), n(4..6), n(6..8));
    let (hour, minute, second) = (n(9..11), n(11..13), n(13..15));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap())
}

#[test]
fn the_date_conversion_is_right() {
    assert_eq!(sdk_date("19700101T000000Z"), UNIX_EPOCH);
    // 2024-01-01T12:00:00Z, the time of the FunctionGraph vectors.
    assert_eq!(
        sdk_date("20240101T120000Z"),
        UNIX_EPOCH + Duration::from_secs(1_704_110_400)
    );
    assert_eq!(
        sdk_date("20191115T033655Z"),
        UNIX_EPOCH + Duration::from_secs(1_573_789_015)
    );
}

/// Whether the client can send exactly this vector's request.
fn reproducible(vector: &Value) -> bool {
    let inputs = &vector["inputs"];
    let mut headers: Vec<String> = inputs["headers"]
        .as_object()
        .unwrap()
        .keys()
        .map(|name| name.to_ascii_lowercase())
        .collect();
    headers.sort();
    inputs["method"] == "POST"
        && inputs["query_params"].as_array().is_some_and(Vec::is_empty)
        && !inputs["url"].as_str().unwrap().contains('?')
        && inputs["headers"]["X-Cff-Log-Type"] == "tail"
        && inputs["headers"]["X-CFF-Request-Version"] == "v1"
        && inputs["headers"]["Content-Type"] == "application/json"
        && headers == CLIENT_HEADERS
}

#[tokio::test]
async fn the_client_signs_like_the_official_signer() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let all: Vec<&Value> = std::iter::once(&vectors["primary"])
        .chain(vectors["examples"].as_array().unwrap())
        .collect();
    let mut checked = 0;
    for vector in all.into_iter().filter(|v| reproducible(v)) {
        let label = vector["label"].as_str().unwrap();
        let inputs = &vector["inputs"];
        let url: http::Uri = inputs["url"].as_str().unwrap().parse().unwrap();
        let credentials = Credentials::new(inputs["ak"].as_str().unwrap(), inputs["sk"].as_str().unwrap());
        let clock = ManualClock::new(sdk_date(inputs["timestamp"].as_str().unwrap()));
        let capture = Capture::default();
        let client = Client::builder()
            .endpoint_url(format!("{}://{}", url.scheme_str().unwrap(), url.authority().unwrap()))
            .auth(AkSkAuth::new(credentials).with_clock(clock))
            .hook(WithoutUserAgent)
            .transport(capture.clone())
            .build()
            .unwrap();
        let urn: FunctionUrn = URN.parse().unwrap();
        let body = inputs["body"].as_str().unwrap().to_owned();
        let output = client
            .invoke(&urn)
            .body(body.clone())
            .log_tail(true)
            .response_version(ResponseVersion::V1)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(output.result().as_ref(), b"\"ok\"", "{label}");

        let requests = capture.0.lock().unwrap().clone();
        assert_eq!(requests.len(), 1, "{label}: signed and sent once");
        let request = &requests[0];
        // The request the client sent is the vector's request...
        assert_eq!(request.method(), http::Method::POST, "{label}");
        assert_eq!(request.uri().path(), inputs["resource_path_as_sent"], "{label}");
        assert_eq!(request.uri().query(), None, "{label}");
        assert_eq!(request.body().as_ref(), body.as_bytes(), "{label}");
        let mut sent: Vec<&str> = request
            .headers()
            .keys()
            .map(http::HeaderName::as_str)
            .filter(|name| *name != "authorization")
            .collect();
        sent.sort_unstable();
        assert_eq!(sent, CLIENT_HEADERS, "{label}");
        for (name, value) in inputs["headers"].as_object().unwrap() {
            assert_eq!(
                request.headers()[name.as_str()],
                value.as_str().unwrap(),
                "{label}: {name}"
            );
        }
        // ...and its signature is the official signer's.
        assert_eq!(
            request.headers()[http::header::AUTHORIZATION],
            vector["output"]["authorization"].as_str().unwrap(),
            "{label}"
        );
        checked += 1;
    }
    // The primary vector, its duplicate in `examples`, and the compact-body one the
    // official Node.js signer agrees with.
    assert!(checked >= 3, "only {checked} vectors are reproducible by the client");
}
