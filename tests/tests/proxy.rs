//! Proxies for the default transport, over real TCP on 127.0.0.1: a small `CONNECT` proxy
//! written here (it counts tunnels and checks `Proxy-Authorization`) and the emulator
//! serving HTTPS behind it, so the tunnel is the one a real endpoint would need. `NO_PROXY`
//! hosts go around it; proxy credentials never appear in `Debug` output or errors.
//!
//! `ClientBuilder::proxy_from_env` is not exercised here (tests run in threads of one
//! process and must not set its environment); its reading of the variables is unit-tested
//! in `fgs_core::network` through an injected lookup.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use fgs::auth::StaticToken;
use fgs::network::{Certificate, Proxy};
use fgs::transport::Delivery;
use fgs::{Client, ClientBuilder, Error, Execution};
use fgs_emulator::{Emulator, Function, Handler, TlsIdentity};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "proxy-suite-token";
const PROXY_USER: &str = "fgs-user";
/// Characters a URL would have to escape, to check they arrive as given.
const PROXY_PASSWORD: &str = "pr0xy p@ss:w/rd%";

/// A `CONNECT` proxy on 127.0.0.1 that tunnels to 127.0.0.1 only.
struct ConnectProxy {
    addr: SocketAddr,
    /// Tunnels opened.
    tunnels: Arc<AtomicUsize>,
    /// Requests refused with 407.
    refused: Arc<AtomicUsize>,
    /// The `Proxy-Authorization` of each request, as received.
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

impl ConnectProxy {
    /// Starts a proxy that requires `Basic` credentials when `credentials` is set.
    async fn start(credentials: Option<(&str, &str)>) -> ConnectProxy {
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
            refused: Arc::default(),
            authorizations: Arc::default(),
        };
        let (tunnels, refused, authorizations) = (
            Arc::clone(&proxy.tunnels),
            Arc::clone(&proxy.refused),
            Arc::clone(&proxy.authorizations),
        );
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let expected = expected.clone();
                let (tunnels, refused, authorizations) =
                    (Arc::clone(&tunnels), Arc::clone(&refused), Arc::clone(&authorizations));
                tokio::spawn(async move {
                    tunnel(client, expected, tunnels, refused, authorizations).await;
                });
            }
        });
        proxy
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Serves one proxy connection: reads the `CONNECT` head, checks the credentials, connects
/// to the target (127.0.0.1 only) and relays bytes both ways.
async fn tunnel(
    mut client: TcpStream,
    expected: Option<String>,
    tunnels: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
) {
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
    let target = match request_line.split(' ').collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] if target.starts_with("127.0.0.1:") => target.to_owned(),
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
    tunnels.fetch_add(1, Ordering::SeqCst);
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .unwrap();
    // Bytes that came after the head belong to the tunnel.
    upstream.write_all(&head[end..]).await.unwrap();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// An emulator serving HTTPS with a fresh self-signed certificate, and that certificate.
async fn https_emulator() -> (Emulator, Certificate) {
    let identity = TlsIdentity::localhost().unwrap();
    let root = Certificate::from_pem(identity.cert_chain_pem().as_bytes()).unwrap();
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .tls(identity)
        .start()
        .await
        .unwrap();
    (emulator, root)
}

fn builder(emulator: &Emulator, root: &Certificate) -> ClientBuilder {
    Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .add_root_certificate(root.clone())
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

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_basic_credentials() {
    let (emulator, root) = https_emulator().await;
    let proxy = ConnectProxy::start(Some((PROXY_USER, PROXY_PASSWORD))).await;
    let builder = builder(&emulator, &root).proxy(Proxy::https(proxy.url()).basic_auth(PROXY_USER, PROXY_PASSWORD));
    assert_no_password(&format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_no_password(&format!("{client:?}"));

    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
    assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 1, "one tunnel, kept alive");
    assert_eq!(proxy.refused.load(Ordering::SeqCst), 0);
    assert_eq!(
        emulator.request_count(),
        2,
        "the emulator served both through the tunnel"
    );
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn credentials_in_the_proxy_url_are_used_and_kept_secret() {
    let (emulator, root) = https_emulator().await;
    let proxy = ConnectProxy::start(Some((PROXY_USER, PROXY_PASSWORD))).await;
    // As HTTPS_PROXY would carry them, percent-encoded.
    let url = format!("http://{PROXY_USER}:pr0xy%20p%40ss%3Aw%2Frd%25@{}", proxy.addr);
    let proxy_setting = Proxy::all(&url);
    assert_eq!(proxy_setting.url(), proxy.url());
    assert_no_password(&format!("{proxy_setting:?}"));
    let client = builder(&emulator, &root).proxy(proxy_setting).build().unwrap();
    assert_no_password(&format!("{client:?}"));
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
    assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn no_proxy_hosts_go_around_the_proxy() {
    let (emulator, root) = https_emulator().await;
    let proxy = ConnectProxy::start(None).await;
    let client = builder(&emulator, &root)
        .proxy(Proxy::all(proxy.url()).no_proxy("localhost, 127.0.0.1"))
        .build()
        .unwrap();
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
    assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 0, "127.0.0.1 is excluded");
    assert!(proxy.authorizations.lock().unwrap().is_empty(), "the proxy saw nothing");
    assert_eq!(emulator.request_count(), 1);

    // A proxy for plain http only is not used for https.
    let client = builder(&emulator, &root)
        .proxy(Proxy::http(proxy.url()))
        .build()
        .unwrap();
    assert_eq!(invoke(&client, &emulator).await.unwrap(), json!({ "via": "proxy" }));
    assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 0);
    emulator.shutdown().await;
}

#[tokio::test]
async fn refused_proxy_credentials_fail_before_sending_without_showing_them() {
    let (emulator, root) = https_emulator().await;
    let proxy = ConnectProxy::start(Some((PROXY_USER, "the-right-one"))).await;
    let client = builder(&emulator, &root)
        .proxy(Proxy::https(proxy.url()).basic_auth(PROXY_USER, PROXY_PASSWORD))
        .build()
        .unwrap();
    let error = invoke(&client, &emulator).await.unwrap_err();
    assert_eq!(proxy.refused.load(Ordering::SeqCst), 1);
    assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 0);
    // The proxy did receive the (wrong) credentials, and only from the client.
    let sent = proxy.authorizations.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].as_deref().is_some_and(|v| v.starts_with("Basic ")), "{sent:?}");
    match &error {
        Error::Transport(transport) => assert_eq!(transport.delivery(), Delivery::NotSent, "{error}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_eq!(error.execution(), Execution::NotRun);
    assert!(!error.is_transient(), "wrong credentials are not retried");
    assert_eq!(emulator.request_count(), 0, "nothing reached the emulator");
    assert_no_password(&error.to_string());
    assert_no_password(&format!("{error:?}"));
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(cause) = source {
        chain.push_str(&cause.to_string());
        chain.push('\n');
        source = cause.source();
    }
    assert!(chain.contains("407 Proxy Authentication Required"), "{chain}");
    assert_no_password(&chain);
    emulator.shutdown().await;
}

#[test]
fn an_unusable_proxy_url_is_a_configuration_error_without_the_password() {
    for url in [
        format!("socks5://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:1080"),
        format!("http://{PROXY_USER}:{PROXY_PASSWORD}@"),
    ] {
        let error = Client::builder()
            .endpoint_url("https://127.0.0.1:1")
            .auth(StaticToken::new(TOKEN))
            .proxy(Proxy::all(&url))
            .build()
            .unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(text.contains("proxy"), "{text}");
        assert_no_password(&text);
    }
}
