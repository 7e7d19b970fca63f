//! Micro-benchmarks (divan) of the CPU work the fgs client does per invoke, without a
//! network: building the request, AK/SK signing, decoding a v1 response, and the whole
//! `send()` path on an in-memory transport, each with the allocations it makes per call.
//!
//! `cargo bench -p fgs-tests --bench micro`. Run without `--bench` (as
//! `cargo test --all-targets` does) every benchmark runs once, as a test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark: a failure should stop it

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use divan::Bencher;
use divan::counter::BytesCount;
use fgs::auth::{AkSkAuth, Credentials, StaticToken};
use fgs::generated::operations::{InvokeFunctionRequest, InvokeFunctionResponseHeaders};
use fgs::generated::types::{InvokeResult, InvokeSummary, ResponseVersion};
use fgs::protocol::{FromHeaderMap as _, RequestParts as _};
use fgs::transport::{SendOptions, Transport, TransportError};
use fgs::{Client, FunctionUrn};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use serde_json::{Value, json};

/// Counts allocations, so that each benchmark also reports what it allocates per call.
#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const URN: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest";
const ENDPOINT: &str = "https://functiongraph.cn-north-4.myhuaweicloud.com";
const AUTHORITY: &str = "functiongraph.cn-north-4.myhuaweicloud.com";
const TOKEN: &str = "MIIbenchmarktoken0123456789abcdef0123456789abcdef";
const AK: &str = "AKEXAMPLE1234567890";
const SK: &str = "SKEXAMPLEabcdefghijklmnopqrstuvwxyz0123";
const KIB: usize = 1024;
const SIZES: [usize; 2] = [KIB, 64 * KIB];

/// A JSON object of about `size` bytes, shaped like a typical API payload (records with
/// numbers and short strings, so plenty of quotes to escape inside a v1 envelope).
fn json_of_size(size: usize) -> String {
    let mut items = Vec::new();
    loop {
        let i = items.len();
        items.push(json!({ "id": i, "name": format!("item-{i}"), "price": 12.5, "tags": ["a", "bc"] }));
        let text = json!({ "items": items }).to_string();
        if text.len() >= size {
            return text;
        }
    }
}

// ----- request building -----

/// The path and headers of an invoke, from the generated request type.
#[divan::bench]
fn build_path_and_headers() -> (String, HeaderMap) {
    let mut params = InvokeFunctionRequest::new(divan::black_box(PROJECT), divan::black_box(URN));
    params.request_version = Some(ResponseVersion::V1);
    let path = params.path();
    let mut headers = HeaderMap::new();
    params.write_headers(&mut headers).unwrap();
    (path, headers)
}

/// The whole `http::Request` as the client builds it before auth: URI from the endpoint's
/// parts and the path, content type, user agent, the generated headers, the token.
#[divan::bench]
fn build_http_request(bencher: Bencher) {
    let scheme = http::uri::Scheme::HTTPS;
    let authority: http::uri::Authority = AUTHORITY.parse().unwrap();
    let body = Bytes::from(json_of_size(KIB));
    let user_agent = HeaderValue::from_static("fgs-rust/0.1.0");
    bencher.bench_local(|| {
        let mut params = InvokeFunctionRequest::new(divan::black_box(PROJECT), divan::black_box(URN));
        params.request_version = Some(ResponseVersion::V1);
        let uri = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query(params.path())
            .build()
            .unwrap();
        let mut request = http::Request::new(body.clone());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::USER_AGENT, user_agent.clone());
        params.write_headers(headers).unwrap();
        let mut token = HeaderValue::from_static(TOKEN);
        token.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-auth-token"), token);
        request
    });
}

/// Parsing a URN, done per call by `#[fgs_function(urn = ...)]` stubs.
#[divan::bench]
fn parse_urn() -> FunctionUrn {
    FunctionUrn::parse(divan::black_box(URN)).unwrap()
}

// ----- AK/SK signing -----

/// An invoke request as it reaches the auth: built, not yet signed.
fn unsigned_request(body: &Bytes) -> http::Request<Bytes> {
    let mut params = InvokeFunctionRequest::new(PROJECT, URN);
    params.request_version = Some(ResponseVersion::V1);
    let mut request = http::Request::new(body.clone());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = format!("{ENDPOINT}{}", params.path()).parse().unwrap();
    let headers = request.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::USER_AGENT, HeaderValue::from_static("fgs-rust/0.1.0"));
    params.write_headers(headers).unwrap();
    request
}

/// What the client's `AkSkAuth` does per request: date, host, project and security
/// headers, the canonical request (SHA-256 of the body included), HMAC, `Authorization`.
#[divan::bench(args = SIZES)]
fn aksk_sign(bencher: Bencher, size: usize) {
    let body = Bytes::from(json_of_size(size));
    let auth = AkSkAuth::new(Credentials::new(AK, SK));
    let credentials = Credentials::new(AK, SK);
    bencher
        .counter(BytesCount::new(body.len()))
        .with_inputs(|| unsigned_request(&body))
        .bench_local_refs(|request| auth.sign(request, &credentials, PROJECT).unwrap());
}

/// `fgs_signing::sign` alone, on headers that already carry the date, host and project.
#[divan::bench(args = SIZES)]
fn signing_canonical_and_hmac(bencher: Bencher, size: usize) {
    let body = Bytes::from(json_of_size(size));
    let mut request = unsigned_request(&body);
    let sdk_date = "20240101T120000Z";
    let headers = request.headers_mut();
    headers.insert(fgs_signing::SDK_DATE, HeaderValue::from_static(sdk_date));
    headers.insert(header::HOST, HeaderValue::from_static(AUTHORITY));
    headers.insert(fgs_signing::PROJECT_ID, HeaderValue::from_static(PROJECT));
    bencher.counter(BytesCount::new(body.len())).bench_local(|| {
        fgs_signing::sign(
            request.method(),
            request.uri(),
            request.headers(),
            request.body(),
            AK,
            SK.as_bytes(),
            sdk_date,
        )
        .unwrap()
    });
}

/// The body hash alone: the part of signing that grows with the payload.
#[divan::bench(args = SIZES)]
fn signing_payload_hash(bencher: Bencher, size: usize) {
    let body = Bytes::from(json_of_size(size));
    let headers = HeaderMap::new();
    bencher
        .counter(BytesCount::new(body.len()))
        .bench_local(|| fgs_signing::payload_hash(&headers, &body));
}

// ----- v1 response decoding -----

/// A v1 response as the emulator (and the service) sends it, with a result of `size`.
fn v1_response(size: usize) -> (HeaderMap, Bytes) {
    let request_id = "0d3a5c1e-1f7b-4c57-9d1e-3b2a9f8e7d6c";
    let mut summary = InvokeSummary::new();
    summary.duration = Some(1.234);
    summary.billing_duration = Some(2.0);
    summary.memory_size = Some(128);
    summary.memory_used = Some(24.5);
    let summary = serde_json::to_string(&summary).unwrap();
    let mut envelope = InvokeResult::new(request_id.into(), json_of_size(size));
    envelope.log = Some(String::new());
    envelope.status = Some(200);
    let body = serde_json::to_vec(&envelope).unwrap();
    let mut headers = HeaderMap::new();
    let mut add = |name: &'static str, value: &str| {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
    };
    add("content-type", "application/json");
    add("x-cff-request-id", request_id);
    add("x-cff-invoke-summary", &summary);
    add("x-cff-billing-duration", "2");
    add("x-cff-response-version", "v1");
    add("x-func-err-code", "0");
    add("x-is-func-err", "false");
    add("content-length", &body.len().to_string());
    add("date", "Mon, 01 Jan 2024 12:00:00 GMT");
    (headers, Bytes::from(body))
}

/// The typed response headers, the `X-Cff-Invoke-Summary` JSON included.
#[divan::bench]
fn decode_response_headers(bencher: Bencher) {
    let (headers, _) = v1_response(KIB);
    bencher.bench_local(|| InvokeFunctionResponseHeaders::from_header_map(&headers, &mut Vec::new()).unwrap());
}

/// The v1 envelope, as `send()` decodes it: the result comes out as an unescaped string.
#[divan::bench(args = SIZES)]
fn decode_v1_envelope(bencher: Bencher, size: usize) {
    let (_, body) = v1_response(size);
    bencher.counter(BytesCount::new(body.len())).bench_local(|| {
        let envelope: InvokeResult = serde_json::from_slice(&body).unwrap();
        (
            envelope.request_id,
            Bytes::from(envelope.result),
            envelope.log,
            envelope.status,
        )
    });
}

/// The second parse, `InvokeOutput::result_json::<Value>()`, which callers add.
#[divan::bench(args = SIZES)]
fn decode_result_json(bencher: Bencher, size: usize) {
    let result = Bytes::from(json_of_size(size));
    bencher
        .counter(BytesCount::new(result.len()))
        .bench_local(|| serde_json::from_slice::<Value>(&result).unwrap());
}

// ----- the whole client path, in memory -----

/// A transport that answers every request at once with the same v1 response.
#[derive(Debug)]
struct Canned {
    headers: HeaderMap,
    body: Bytes,
}

#[fgs::async_trait]
impl Transport for Canned {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        _options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        drop(request);
        let mut response = http::Response::new(self.body.clone());
        *response.headers_mut() = self.headers.clone();
        Ok(response)
    }
}

/// Polls a future that never waits (in-memory transport, static or AK/SK auth) to the end.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future was expected to be ready at once"),
    }
}

fn canned_client(response_size: usize, aksk: bool) -> Client {
    let (headers, body) = v1_response(response_size);
    let builder = Client::builder()
        .region("cn-north-4")
        .transport(Canned { headers, body })
        .retry_policy(fgs::retry::NoRetry);
    let builder = if aksk {
        builder.auth(AkSkAuth::new(Credentials::new(AK, SK)))
    } else {
        builder.auth(StaticToken::new(TOKEN))
    };
    builder.build().unwrap()
}

/// `client.invoke(&urn).body(..).send()` with a 1 KB event and a result of `size` (64:
/// about the small result of `invoke_throughput`), token auth, the transport answering
/// from memory: everything the SDK adds to an exchange (plus a `HeaderMap` clone in the
/// fake transport).
#[divan::bench(args = [64, KIB, 64 * KIB])]
fn send_in_memory_token(bencher: Bencher, size: usize) {
    let client = canned_client(size, false);
    let urn = FunctionUrn::parse(URN).unwrap();
    let event = Bytes::from(json_of_size(KIB));
    bencher.bench_local(|| ready(client.invoke(&urn).body(event.clone()).send()).unwrap());
}

/// The same with AK/SK signing, an event of `size` (hashed by the signer) and a 1 KB result.
#[divan::bench(args = SIZES)]
fn send_in_memory_aksk(bencher: Bencher, size: usize) {
    let client = canned_client(KIB, true);
    let urn = FunctionUrn::parse(URN).unwrap();
    let event = Bytes::from(json_of_size(size));
    bencher.bench_local(|| ready(client.invoke(&urn).body(event.clone()).send()).unwrap());
}
