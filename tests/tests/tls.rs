//! TLS over real handshakes on 127.0.0.1: the emulator serves HTTPS with a self-signed
//! certificate, and each transport (the default reqwest one and the hyper one, both with
//! whatever TLS feature this build selects) invokes it trusting that certificate as an
//! added root.
//! A certificate the client does not trust, or one for another name, fails the handshake:
//! a typed TLS error saying nothing was sent, no request recorded, the function never run,
//! and no retry (a bad certificate does not fix itself).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::time::Duration;

use fgs::auth::StaticToken;
use fgs::network::{Certificate, TlsBackend, TlsFailure};
use fgs::transport::HyperTransport;
use fgs::transport::{Delivery, ReqwestTransport, TransportError, TransportErrorKind};
use fgs::{Client, ClientBuilder, Error, Execution, FunctionUrn};
use fgs_emulator::{Emulator, Function, Handler, TlsIdentity};
use serde_json::{Value, json};

const TOKEN: &str = "tls-suite-token";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The two HTTP stacks.
#[derive(Debug, Clone, Copy)]
enum Stack {
    /// The default transport, configured through `ClientBuilder`.
    Reqwest,
    /// The hyper transport, configured through its own builder.
    Hyper,
}

/// An emulator serving HTTPS with `identity`, with `default/echo`.
async fn https_emulator(identity: TlsIdentity) -> Emulator {
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .tls(identity)
        .start()
        .await
        .expect("start the emulator")
}

fn root(identity: &TlsIdentity) -> Certificate {
    Certificate::from_pem(identity.cert_chain_pem().as_bytes()).expect("the generated certificate parses")
}

/// A client of `emulator` on `stack` that trusts `roots` besides (or, with `built_in`
/// false, instead of) the platform's roots.
fn client(emulator: &Emulator, stack: Stack, roots: &[Certificate], built_in: bool) -> Client {
    let builder: ClientBuilder = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN));
    let builder = match stack {
        Stack::Reqwest => roots
            .iter()
            .fold(builder.connect_timeout(CONNECT_TIMEOUT), |b, root| {
                b.add_root_certificate(root.clone())
            })
            .tls_built_in_roots(built_in),
        Stack::Hyper => {
            let transport = roots
                .iter()
                .fold(HyperTransport::builder().connect_timeout(CONNECT_TIMEOUT), |b, root| {
                    b.add_root_certificate(root.clone())
                })
                .tls_built_in_roots(built_in)
                .build()
                .expect("the hyper transport");
            assert_eq!(transport.tls_backend(), TlsBackend::SELECTED, "{transport:?}");
            builder.transport(transport)
        }
    };
    builder.build().expect("client")
}

fn echo_urn(emulator: &Emulator) -> FunctionUrn {
    emulator.urn("default", "echo", None).parse().expect("valid URN")
}

async fn invoke(client: &Client, emulator: &Emulator) -> Result<Value, Error> {
    let output = client
        .invoke(echo_urn(emulator))
        .json(&json!({ "over": "tls" }))
        .send()
        .await?;
    Ok(output.result_json::<Value>().expect("a JSON result"))
}

async fn invokes_trusting_an_added_root(stack: Stack) {
    let identity = TlsIdentity::localhost().unwrap();
    let emulator = https_emulator(identity.clone()).await;
    assert!(
        emulator.endpoint().starts_with("https://127.0.0.1:"),
        "{}",
        emulator.endpoint()
    );
    let client = client(&emulator, stack, &[root(&identity)], true);
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "over": "tls" }));
    // Again, on the kept-alive connection.
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "over": "tls" }));
    assert_eq!(emulator.request_count(), 2);
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
    let recorded = emulator.requests();
    assert_eq!(
        recorded[0].body,
        br#"{"over":"tls"}"#.as_slice(),
        "the emulator recorded the invoke"
    );
    // Only the added root, without the platform's.
    let only_added = self::client(&emulator, stack, &[root(&identity)], false);
    assert_eq!(invoke(&only_added, &emulator).await.unwrap(), json!({ "over": "tls" }));
    emulator.shutdown().await;
}

/// `error`'s message followed by those of its causes, as `{:#}` or the CLI print it.
fn chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Checks that `error` is a failed TLS handshake of kind `failure`, reported as nothing
/// sent, in plain words; returns the message with its causes.
fn assert_handshake_failure(error: &Error, failure: TlsFailure) -> String {
    let transport: &TransportError = match error {
        Error::Transport(transport) => transport,
        other => panic!("expected a transport error, got {other:?}"),
    };
    assert_eq!(transport.kind(), TransportErrorKind::Connect, "{error}");
    assert_eq!(transport.delivery(), Delivery::NotSent, "{error}");
    let tls = transport
        .tls_error()
        .unwrap_or_else(|| panic!("not a TLS error: {error:?}"));
    assert_eq!(tls.failure(), failure, "{error}: {error:?}");
    assert_eq!(tls.host(), Some("127.0.0.1"));
    assert_eq!(error.execution(), Execution::NotRun);
    assert!(error.is_retry_safe());
    assert!(!error.is_transient(), "a bad certificate does not fix itself");
    assert!(error.to_string().contains("the request was not sent"), "{error}");
    assert!(error.to_string().contains("TLS"), "`{{}}` alone names TLS: {error}");
    let message = chain(error);
    // The first cause says what failed, in plain words.
    let first_cause = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(first_cause.starts_with("TLS handshake failed: "), "{message}");
    message
}

/// The emulator saw a connection, but no request and no run.
fn assert_nothing_received(emulator: &Emulator) {
    assert_eq!(emulator.request_count(), 0, "no request reached the emulator");
    assert_eq!(
        emulator.invocation_count("default", "echo"),
        0,
        "the function never ran"
    );
    assert_eq!(
        emulator.connection_count(),
        1,
        "one connection: the failure is not retried"
    );
}

async fn an_untrusted_certificate_is_refused(stack: Stack) {
    let emulator = https_emulator(TlsIdentity::localhost().unwrap()).await;
    // The platform's roots only.
    let client = client(&emulator, stack, &[], true);
    let error = invoke(&client, &emulator).await.unwrap_err();
    let message = assert_handshake_failure(&error, TlsFailure::UntrustedCertificate);
    assert!(message.contains("not issued by a root this client trusts"), "{message}");
    assert!(message.contains("add_root_certificate"), "{message}");
    assert_nothing_received(&emulator);

    // Trusting another self-signed certificate instead does not help.
    let stranger = TlsIdentity::localhost().unwrap();
    let client = self::client(&emulator, stack, &[root(&stranger)], false);
    let error = invoke(&client, &emulator).await.unwrap_err();
    assert_handshake_failure(&error, TlsFailure::UntrustedCertificate);
    assert_eq!(emulator.request_count(), 0);
    emulator.shutdown().await;
}

async fn a_certificate_for_another_name_is_refused(stack: Stack) {
    let identity = TlsIdentity::self_signed(["other.example"]).unwrap();
    let emulator = https_emulator(identity.clone()).await;
    // The certificate is trusted; it is only not for 127.0.0.1.
    let client = client(&emulator, stack, &[root(&identity)], true);
    let error = invoke(&client, &emulator).await.unwrap_err();
    let message = assert_handshake_failure(&error, TlsFailure::WrongHostName);
    assert!(message.contains("not valid for the name 127.0.0.1"), "{message}");
    assert_nothing_received(&emulator);
    emulator.shutdown().await;
}

/// `https://` to a server that speaks plain HTTP.
async fn a_plain_http_server_is_not_tls(stack: Stack) {
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    let plain = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap();
    let https = format!("https://{}", plain.addr());
    let builder = Client::builder().endpoint_url(https).auth(StaticToken::new(TOKEN));
    let client = match stack {
        Stack::Reqwest => builder.build().unwrap(),
        Stack::Hyper => {
            let transport = HyperTransport::new(CONNECT_TIMEOUT).unwrap();
            assert_eq!(transport.tls_backend(), TlsBackend::SELECTED);
            builder.transport(transport).build().unwrap()
        }
    };
    let error = invoke(&client, &plain).await.unwrap_err();
    let transport = match &error {
        Error::Transport(transport) => transport,
        other => panic!("expected a transport error, got {other:?}"),
    };
    assert_eq!(transport.delivery(), Delivery::NotSent, "{error}");
    assert_eq!(error.execution(), Execution::NotRun);
    let tls = transport
        .tls_error()
        .unwrap_or_else(|| panic!("not a TLS error: {error:?}"));
    // rustls says the answer was no TLS; OpenSSL may only say the handshake failed.
    if TlsBackend::SELECTED != Some(TlsBackend::NativeTls) {
        assert_eq!(tls.failure(), TlsFailure::NotTls, "{error}");
        assert!(chain(&error).contains("did not answer in TLS"), "{}", chain(&error));
    }
    assert_eq!(plain.request_count(), 0, "the ClientHello is no request");
    plain.shutdown().await;
}

#[tokio::test]
async fn reqwest_invokes_over_https_trusting_an_added_root() {
    invokes_trusting_an_added_root(Stack::Reqwest).await;
}

#[tokio::test]
async fn hyper_invokes_over_https_trusting_an_added_root() {
    invokes_trusting_an_added_root(Stack::Hyper).await;
}

#[tokio::test]
async fn reqwest_refuses_an_untrusted_certificate_and_sends_nothing() {
    an_untrusted_certificate_is_refused(Stack::Reqwest).await;
}

#[tokio::test]
async fn hyper_refuses_an_untrusted_certificate_and_sends_nothing() {
    an_untrusted_certificate_is_refused(Stack::Hyper).await;
}

#[tokio::test]
async fn reqwest_refuses_a_certificate_for_another_name_and_sends_nothing() {
    a_certificate_for_another_name_is_refused(Stack::Reqwest).await;
}

#[tokio::test]
async fn hyper_refuses_a_certificate_for_another_name_and_sends_nothing() {
    a_certificate_for_another_name_is_refused(Stack::Hyper).await;
}

#[tokio::test]
async fn reqwest_says_a_plain_http_server_does_not_speak_tls() {
    a_plain_http_server_is_not_tls(Stack::Reqwest).await;
}

#[tokio::test]
async fn hyper_says_a_plain_http_server_does_not_speak_tls() {
    a_plain_http_server_is_not_tls(Stack::Hyper).await;
}

/// The PEM file `fgs local --tls` writes (and `HUAWEICLOUD_SDK_CA_FILE` names) is read
/// with `Certificate::from_pem_file`, and `ReqwestTransport::builder` takes roots too.
#[tokio::test]
async fn roots_from_a_pem_file_and_on_a_reqwest_transport_of_ones_own() {
    let identity = TlsIdentity::localhost().unwrap();
    let emulator = https_emulator(identity.clone()).await;
    let dir = std::env::temp_dir().join(format!("fgs-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("local.pem");
    std::fs::write(&file, identity.cert_chain_pem()).unwrap();
    let roots = Certificate::from_pem_file(&file).unwrap();
    assert_eq!(roots, vec![root(&identity)]);
    let transport = roots
        .into_iter()
        .fold(ReqwestTransport::builder(), |b, root| b.add_root_certificate(root))
        .build()
        .unwrap();
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .transport(transport)
        .build()
        .unwrap();
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "over": "tls" }));
    std::fs::remove_dir_all(&dir).unwrap();
    emulator.shutdown().await;
}

#[test]
fn trusting_no_root_at_all_is_a_configuration_error() {
    let error = Client::builder()
        .endpoint_url("https://127.0.0.1:1")
        .auth(StaticToken::new(TOKEN))
        .tls_built_in_roots(false)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("tls_built_in_roots(false)"), "{error}");
    let error = HyperTransport::builder().tls_built_in_roots(false).build().unwrap_err();
    let cause = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cause.contains("tls_built_in_roots(false)"), "{error}: {cause}");
}

/// The emulator's TLS handshake is bounded by its header read timeout: a client that
/// connects and sends nothing is dropped, and the emulator keeps serving.
#[tokio::test]
async fn a_stalled_handshake_is_closed_by_the_header_read_timeout() {
    use tokio::io::AsyncReadExt as _;

    let identity = TlsIdentity::localhost().unwrap();
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .header_read_timeout(Duration::from_secs(1))
        .tls(identity.clone())
        .start()
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(emulator.addr()).await.unwrap();
    let mut buf = [0u8; 16];
    // Closed by the emulator (end of stream or reset), well within the bound.
    let closed = tokio::time::timeout(Duration::from_secs(30), silent.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    let client = client(&emulator, Stack::Reqwest, &[root(&identity)], true);
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "over": "tls" }));
    emulator.shutdown().await;
}

/// The stack these handshakes ran on is the one the features pick (CI runs this file with
/// each: default, `--features tls-ring`, `--all-features`).
#[test]
fn the_stack_under_test_is_the_one_the_features_pick() {
    let expected = if cfg!(feature = "tls-native") {
        TlsBackend::NativeTls
    } else if cfg!(feature = "tls-ring") {
        TlsBackend::RustlsRing
    } else {
        TlsBackend::RustlsAwsLc
    };
    assert_eq!(TlsBackend::SELECTED, Some(expected));
    println!(
        "both transports' TLS stack under test: {expected} (feature {})",
        expected.feature()
    );
}
