//! Proxies, on both transports (the default one configured through `ClientBuilder::proxy`,
//! the hyper one through `HyperTransportBuilder::proxy`), over real TCP on 127.0.0.1: a
//! small proxy written here (it counts `CONNECT` tunnels and forwarded plain-`http`
//! requests and checks `Proxy-Authorization`) and the emulator behind it, serving HTTPS
//! for the tunnels, so the tunnel is the one a real endpoint would need. `NO_PROXY` hosts
//! go around it; proxy credentials never appear in `Debug` output or errors.
//!
//! `proxy_from_env` is not exercised here (tests run in threads of one process and must
//! not set its environment); its reading of the variables is unit-tested in
//! `fgs_core::network` through an injected lookup.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use fgs::auth::StaticToken;
use fgs::network::{Certificate, Proxy};
use fgs::transport::Delivery;
use fgs::transport::HyperTransport;
use fgs::{Client, Error, Execution};
use fgs_emulator::{Emulator, Function, Handler, TlsIdentity};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

const TOKEN: &str = "proxy-suite-token";
const PROXY_USER: &str = "fgs-user";
/// Characters a URL would have to escape, to check they arrive as given.
const PROXY_PASSWORD: &str = "pr0xy p@ss:w/rd%";

/// A proxy on 127.0.0.1 that tunnels (`CONNECT`) and forwards (absolute-form plain-`http`
/// requests) to 127.0.0.1 only.
struct ConnectProxy {
    addr: SocketAddr,
    /// Tunnels opened.
    tunnels: Arc<AtomicUsize>,
    /// Plain-`http` connections forwarded; the request line of each.
    forwarded: Arc<Mutex<Vec<String>>>,
    /// Requests refused with 407.
    refused: Arc<AtomicUsize>,
    /// The `Proxy-Authorization` of each request, as received.
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

impl ConnectProxy {
    /// Starts a proxy that requires `Basic` credentials when `credentials` is set.
    async fn start(credentials: Option<(&str, &str)>) -> ConnectProxy {
        ConnectProxy::serve(credentials, None).await
    }

    /// Starts a proxy spoken to over TLS, with `identity`'s certificate.
    async fn start_tls(credentials: Option<(&str, &str)>, identity: &TlsIdentity) -> ConnectProxy {
        let chain = CertificateDer::pem_slice_iter(identity.cert_chain_pem().as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(identity.key_pem().as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        ConnectProxy::serve(credentials, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn serve(credentials: Option<(&str, &str)>, tls: Option<TlsAcceptor>) -> ConnectProxy {
        let expected = credentials.map(|(user, password)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = ConnectProxy {
            addr: listener.local_addr().unwrap(),
            tunnels: Arc::default(),
            forwarded: Arc::default(),
            refused: Arc::default(),
            authorizations: Arc::default(),
        };
        let counters = Counters {
            tunnels: Arc::clone(&proxy.tunnels),
            forwarded: Arc::clone(&proxy.forwarded),
            refused: Arc::clone(&proxy.refused),
            authorizations: Arc::clone(&proxy.authorizations),
        };
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let expected = expected.clone();
                let counters = counters.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(tls) => {
                            if let Ok(client) = tls.accept(client).await {
                                relay(client, expected, counters).await;
                            }
                        }
                        None => relay(client, expected, counters).await,
                    }
                });
            }
        });
        proxy
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn tls_url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

/// What the proxy saw, shared with the test.
#[derive(Clone)]
struct Counters {
    tunnels: Arc<AtomicUsize>,
    forwarded: Arc<Mutex<Vec<String>>>,
    refused: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

/// Serves one proxy connection: reads the head (a `CONNECT`, or a plain-`http` request in
/// absolute form), checks the credentials, connects to the target (127.0.0.1 only) and
/// relays bytes both ways; a forwarded request's head is passed on as it came.
async fn relay(mut client: impl AsyncRead + AsyncWrite + Unpin, expected: Option<String>, counters: Counters) {
    let Counters {
        tunnels,
        forwarded,
        refused,
        authorizations,
    } = counters;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let end = loop {
        let n = client.read(&mut buf).await.unwrap_or(0);
        if n == 0 || head.len() > 16 * 1024 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    authorizations.lock().unwrap().push(authorization.clone());
    let (target, tunnelled) = match request_line.split(' ').collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] if target.starts_with("127.0.0.1:") => (target.to_owned(), true),
        [_, url, _] if url.starts_with("http://127.0.0.1:") => {
            let authority = url["http://".len()..].split('/').next().unwrap_or_default();
            (authority.to_owned(), false)
        }
        _ => {
            let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n").await;
            return;
        }
    };
    if expected.is_some() && authorization != expected {
        refused.fetch_add(1, Ordering::SeqCst);
        let _ = client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(&target).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if tunnelled {
        tunnels.fetch_add(1, Ordering::SeqCst);
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .unwrap();
        // Bytes that came after the head belong to the tunnel.
        upstream.write_all(&head[end..]).await.unwrap();
    } else {
        forwarded.lock().unwrap().push(request_line.to_owned());
        // The emulator reads the absolute-form request as it is.
        upstream.write_all(&head).await.unwrap();
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// The transport a test runs on.
#[derive(Debug, Clone, Copy)]
enum Stack {
    /// The default transport, configured through `ClientBuilder`.
    Default,
    /// The hyper transport, configured through its own builder.
    Hyper,
}

const STACKS: [Stack; 2] = [Stack::Default, Stack::Hyper];

/// An emulator with the `echo` function, serving HTTPS with `identity` (a fresh
/// self-signed one without), and its certificate.
async fn emulator(identity: Option<TlsIdentity>) -> (Emulator, Certificate) {
    let identity = identity.unwrap_or_else(|| TlsIdentity::localhost().unwrap());
    let root = Certificate::from_pem(identity.cert_chain_pem().as_bytes()).unwrap();
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    let builder = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo));
    (builder.tls(identity).start().await.unwrap(), root)
}

/// An emulator serving HTTPS with a fresh self-signed certificate, and that certificate.
async fn https_emulator() -> (Emulator, Certificate) {
    emulator(None).await
}

/// An emulator serving plain HTTP, and a root certificate nothing uses (the clients are
/// built as for HTTPS).
async fn plain_http_emulator() -> (Emulator, Certificate) {
    let identity = TlsIdentity::localhost().unwrap();
    let root = Certificate::from_pem(identity.cert_chain_pem().as_bytes()).unwrap();
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap();
    (emulator, root)
}

/// A client of `emulator` on `stack` that trusts `root` and uses `proxy`; neither the
/// builders' nor the client's `Debug` shows the proxy password.
fn client(stack: Stack, emulator: &Emulator, root: &Certificate, proxy: Proxy) -> Client {
    try_client(stack, emulator, std::slice::from_ref(root), proxy).unwrap()
}

/// [`client`] trusting `roots`, or the error (as text) building it.
fn try_client(stack: Stack, emulator: &Emulator, roots: &[Certificate], proxy: Proxy) -> Result<Client, String> {
    let builder = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN));
    let builder = match stack {
        Stack::Default => roots
            .iter()
            .fold(builder, |builder, root| builder.add_root_certificate(root.clone()))
            .proxy(proxy),
        Stack::Hyper => {
            let transport = roots
                .iter()
                .fold(HyperTransport::builder(), |builder, root| {
                    builder.add_root_certificate(root.clone())
                })
                .proxy(proxy);
            assert_no_password(&format!("{transport:?}"));
            let transport = transport.build().map_err(|e| format!("{e} {e:?}"))?;
            assert_no_password(&format!("{transport:?}"));
            builder.transport(transport)
        }
    };
    assert_no_password(&format!("{builder:?}"));
    let client = builder.build().map_err(|e| format!("{e} {e:?}"))?;
    assert_no_password(&format!("{client:?}"));
    Ok(client)
}

async fn invoke(client: &Client, emulator: &Emulator) -> Result<Value, Error> {
    let urn = emulator.urn("default", "echo", None);
    let output = client
        .invoke(urn.as_str())
        .json(&json!({ "via": "proxy" }))
        .send()
        .await?;
    Ok(output.result_json::<Value>().unwrap())
}

/// The password, and its `Basic` encoding, are absent from `text`.
fn assert_no_password(text: &str) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}"));
    assert!(!text.contains(PROXY_PASSWORD), "the proxy password leaked: {text}");
    assert!(!text.contains("pr0xy"), "part of the proxy password leaked: {text}");
    assert!(!text.contains(&basic), "the proxy credentials leaked: {text}");
}

fn expected_authorization() -> Option<String> {
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}"))
    ))
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_basic_credentials() {
    for stack in STACKS {
        let (emulator, root) = https_emulator().await;
        let proxy = ConnectProxy::start(Some((PROXY_USER, PROXY_PASSWORD))).await;
        let proxy_setting = Proxy::https(proxy.url()).basic_auth(PROXY_USER, PROXY_PASSWORD);
        let client = client(stack, &emulator, &root, proxy_setting);

        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        assert_eq!(
            proxy.tunnels.load(Ordering::SeqCst),
            1,
            "{stack:?}: one tunnel, kept alive"
        );
        assert_eq!(proxy.refused.load(Ordering::SeqCst), 0, "{stack:?}");
        assert!(proxy.forwarded.lock().unwrap().is_empty(), "{stack:?}");
        assert_eq!(
            *proxy.authorizations.lock().unwrap(),
            vec![expected_authorization()],
            "{stack:?}: the CONNECT carried the credentials"
        );
        assert_eq!(
            emulator.request_count(),
            2,
            "{stack:?}: the emulator served both through the tunnel"
        );
        assert_eq!(emulator.invocation_count("default", "echo"), 2, "{stack:?}");
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn plain_http_goes_to_the_proxy_in_absolute_form_with_basic_credentials() {
    for stack in STACKS {
        let (emulator, root) = plain_http_emulator().await;
        let proxy = ConnectProxy::start(Some((PROXY_USER, PROXY_PASSWORD))).await;
        let proxy_setting = Proxy::http(proxy.url()).basic_auth(PROXY_USER, PROXY_PASSWORD);
        let client = client(stack, &emulator, &root, proxy_setting);

        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        let forwarded = proxy.forwarded.lock().unwrap().clone();
        assert_eq!(
            forwarded.len(),
            1,
            "{stack:?}: one connection, kept alive: {forwarded:?}"
        );
        let prefix = format!("POST {}/v2/", emulator.endpoint());
        assert!(
            forwarded[0].starts_with(&prefix),
            "{stack:?}: not in absolute form: {forwarded:?}"
        );
        assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 0, "{stack:?}");
        assert_eq!(
            *proxy.authorizations.lock().unwrap(),
            vec![expected_authorization()],
            "{stack:?}: the request carried the credentials"
        );
        assert_eq!(emulator.invocation_count("default", "echo"), 2, "{stack:?}");
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn a_proxy_spoken_to_over_tls_tunnels_https() {
    for stack in STACKS {
        // The proxy serves the emulator's certificate (for 127.0.0.1), which the client
        // trusts. (Two self-signed roots with one subject would confuse OpenSSL, which
        // native-tls uses, not the client.)
        let identity = TlsIdentity::localhost().unwrap();
        let proxy = ConnectProxy::start_tls(Some((PROXY_USER, PROXY_PASSWORD)), &identity).await;
        let (emulator, root) = emulator(Some(identity)).await;
        let proxy_setting = Proxy::https(proxy.tls_url()).basic_auth(PROXY_USER, PROXY_PASSWORD);
        let client = client(stack, &emulator, &root, proxy_setting);
        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 1, "{stack:?}");
        assert_eq!(
            *proxy.authorizations.lock().unwrap(),
            vec![expected_authorization()],
            "{stack:?}"
        );
        assert_eq!(emulator.invocation_count("default", "echo"), 1, "{stack:?}");
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn credentials_in_the_proxy_url_are_used_and_kept_secret() {
    for stack in STACKS {
        let (emulator, root) = https_emulator().await;
        let proxy = ConnectProxy::start(Some((PROXY_USER, PROXY_PASSWORD))).await;
        // As HTTPS_PROXY would carry them, percent-encoded.
        let url = format!("http://{PROXY_USER}:pr0xy%20p%40ss%3Aw%2Frd%25@{}", proxy.addr);
        let proxy_setting = Proxy::all(&url);
        assert_eq!(proxy_setting.url(), proxy.url());
        assert_no_password(&format!("{proxy_setting:?}"));
        let client = client(stack, &emulator, &root, proxy_setting);
        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 1, "{stack:?}");
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn no_proxy_hosts_go_around_the_proxy() {
    for stack in STACKS {
        let (emulator, root) = https_emulator().await;
        let proxy = ConnectProxy::start(None).await;
        let proxy_setting = Proxy::all(proxy.url()).no_proxy("localhost, 127.0.0.1");
        let client = client(stack, &emulator, &root, proxy_setting);
        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        assert_eq!(
            proxy.tunnels.load(Ordering::SeqCst),
            0,
            "{stack:?}: 127.0.0.1 is excluded"
        );
        assert!(
            proxy.authorizations.lock().unwrap().is_empty(),
            "{stack:?}: the proxy saw nothing"
        );
        assert_eq!(emulator.request_count(), 1, "{stack:?}");

        // A proxy for plain http only is not used for https.
        let client = self::client(stack, &emulator, &root, Proxy::http(proxy.url()));
        assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
        assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 0, "{stack:?}");
        assert!(proxy.authorizations.lock().unwrap().is_empty(), "{stack:?}");
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn refused_proxy_credentials_fail_before_sending_without_showing_them() {
    for stack in STACKS {
        let (emulator, root) = https_emulator().await;
        let proxy = ConnectProxy::start(Some((PROXY_USER, "the-right-one"))).await;
        let proxy_setting = Proxy::https(proxy.url()).basic_auth(PROXY_USER, PROXY_PASSWORD);
        let client = client(stack, &emulator, &root, proxy_setting);
        let error = invoke(&client, &emulator).await.unwrap_err();
        assert_eq!(proxy.refused.load(Ordering::SeqCst), 1, "{stack:?}");
        assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 0, "{stack:?}");
        // The proxy did receive the (wrong) credentials, and only from the client.
        let sent = proxy.authorizations.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{stack:?}");
        assert!(sent[0].as_deref().is_some_and(|v| v.starts_with("Basic ")), "{sent:?}");
        match &error {
            Error::Transport(transport) => assert_eq!(transport.delivery(), Delivery::NotSent, "{stack:?}: {error}"),
            other => panic!("{stack:?}: expected a transport error, got {other:?}"),
        }
        assert_eq!(error.execution(), Execution::NotRun, "{stack:?}");
        assert!(!error.is_transient(), "{stack:?}: wrong credentials are not retried");
        assert_eq!(emulator.request_count(), 0, "{stack:?}: nothing reached the emulator");
        assert_no_password(&error.to_string());
        assert_no_password(&format!("{error:?}"));
        let mut chain = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(&error);
        while let Some(cause) = source {
            chain.push_str(&cause.to_string());
            chain.push('\n');
            source = cause.source();
        }
        assert!(
            chain.contains("407 Proxy Authentication Required"),
            "{stack:?}: {chain}"
        );
        assert_no_password(&chain);
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn an_unusable_proxy_url_is_a_configuration_error_without_the_password() {
    let (emulator, root) = https_emulator().await;
    for stack in STACKS {
        for url in [
            format!("socks5://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:1080"),
            format!("http://{PROXY_USER}:{PROXY_PASSWORD}@"),
        ] {
            let error = try_client(stack, &emulator, std::slice::from_ref(&root), Proxy::all(&url)).unwrap_err();
            assert!(error.contains("proxy"), "{stack:?}: {error}");
            assert_no_password(&error);
        }
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_proxy_that_never_answers_the_tunnel_request_times_out_before_sending() {
    for stack in STACKS {
        let (emulator, root) = https_emulator().await;
        // Accepts connections, reads nothing, answers nothing.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_url = format!("http://{}", silent.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = silent.accept().await {
                held.push(stream);
            }
        });
        let client = client(stack, &emulator, &root, Proxy::https(proxy_url));
        let urn = emulator.urn("default", "echo", None);
        let error = client
            .invoke(urn.as_str())
            .json(&json!({}))
            .timeout(std::time::Duration::from_millis(300))
            .send()
            .await
            .unwrap_err();
        // Both transports know hyper never got to the request (the body's mark).
        match &error {
            Error::Timeout(transport) => assert_eq!(transport.delivery(), Delivery::NotSent, "{stack:?}: {error}"),
            other => panic!("{stack:?}: expected a timeout, got {other:?}"),
        }
        assert_eq!(error.execution(), Execution::NotRun, "{stack:?}");
        assert!(error.is_retry_safe(), "{stack:?}");
        assert_eq!(emulator.request_count(), 0, "{stack:?}");
        held.abort();
        emulator.shutdown().await;
    }
}
