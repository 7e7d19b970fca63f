//! With the `hyper` feature and without `reqwest`, a client given no transport sends with
//! the hyper transport, set up from the builder's network settings (root certificates,
//! proxies), over TLS on 127.0.0.1 against the emulator.
//!
//! Only that build has this default, so these tests run in the CI steps
//! `cargo test -p fgs --no-default-features --features hyper,auth,rustls-aws-lc --test hyper_default --test front_door`
//! and the same with `native-tls` for `rustls-aws-lc`; in any other build the one test here
//! says it was skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

#[cfg(not(all(
    feature = "hyper",
    feature = "auth",
    any(feature = "rustls-aws-lc", feature = "rustls-ring", feature = "native-tls"),
    not(feature = "reqwest")
)))]
#[test]
fn skipped_in_this_build() {
    println!(
        "SKIPPED: hyper_default needs --no-default-features --features hyper,auth and a TLS feature \
         (the hyper transport as the default); .ci/run runs it so, with rustls-aws-lc and with native-tls"
    );
}

#[cfg(all(
    feature = "hyper",
    feature = "auth",
    any(feature = "rustls-aws-lc", feature = "rustls-ring", feature = "native-tls"),
    not(feature = "reqwest")
))]
mod hyper_is_the_default {
    use fgs::auth::StaticToken;
    use fgs::network::{Certificate, Proxy, TlsBackend, TlsFailure};
    use fgs::transport::Delivery;
    use fgs::{Client, Error, Execution};
    use fgs_emulator::{Emulator, Function, Handler, TlsIdentity};
    use serde_json::{Value, json};

    const TOKEN: &str = "hyper-default-token";

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

    #[tokio::test]
    async fn a_client_given_no_transport_sends_with_hyper_trusting_the_added_root() {
        let (emulator, root) = https_emulator().await;
        let client = Client::builder()
            .endpoint_url(emulator.endpoint())
            .auth(StaticToken::new(TOKEN))
            .add_root_certificate(root)
            .build()
            .unwrap();
        assert!(format!("{client:?}").contains("HyperTransport"), "{client:?}");
        // Speaking the TLS stack the features pick.
        let tls = format!("tls: {:?}", TlsBackend::SELECTED);
        assert!(
            TlsBackend::SELECTED.is_some() && format!("{client:?}").contains(&tls),
            "{client:?}"
        );
        let urn = emulator.urn("default", "echo", None);
        let output = client
            .invoke(urn.as_str())
            .json(&json!({ "on": "hyper" }))
            .send()
            .await
            .unwrap();
        assert_eq!(output.result_json::<Value>().unwrap(), json!({ "on": "hyper" }));

        // Without the root, the platform's roots do not trust the emulator's certificate.
        let untrusting = Client::builder()
            .endpoint_url(emulator.endpoint())
            .auth(StaticToken::new(TOKEN))
            .build()
            .unwrap();
        let error = untrusting
            .invoke(urn.as_str())
            .json(&json!({}))
            .send()
            .await
            .unwrap_err();
        match &error {
            Error::Transport(transport) => {
                let tls = transport
                    .tls_error()
                    .unwrap_or_else(|| panic!("not a TLS error: {error:?}"));
                assert_eq!(tls.failure(), TlsFailure::UntrustedCertificate, "{error:?}");
            }
            other => panic!("expected a transport error, got {other:?}"),
        }
        assert_eq!(emulator.invocation_count("default", "echo"), 1);
        emulator.shutdown().await;
    }

    #[tokio::test]
    async fn the_builders_proxy_is_the_hyper_transports() {
        let (emulator, root) = https_emulator().await;
        // A proxy nobody listens on: the call fails to connect to it, before sending.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let client = Client::builder()
            .endpoint_url(emulator.endpoint())
            .auth(StaticToken::new(TOKEN))
            .add_root_certificate(root.clone())
            .proxy(Proxy::https(&proxy_url))
            .build()
            .unwrap();
        assert!(format!("{client:?}").contains(&proxy_url), "{client:?}");
        let urn = emulator.urn("default", "echo", None);
        let error = client.invoke(urn.as_str()).json(&json!({})).send().await.unwrap_err();
        match &error {
            Error::Transport(transport) => assert_eq!(transport.delivery(), Delivery::NotSent, "{error}"),
            other => panic!("expected a transport error, got {other:?}"),
        }
        assert_eq!(error.execution(), Execution::NotRun);
        assert_eq!(emulator.request_count(), 0, "nothing went around the proxy");

        // NO_PROXY rules apply too.
        let client = Client::builder()
            .endpoint_url(emulator.endpoint())
            .auth(StaticToken::new(TOKEN))
            .add_root_certificate(root)
            .proxy(Proxy::https(&proxy_url).no_proxy("127.0.0.1"))
            .build()
            .unwrap();
        client.invoke(urn.as_str()).json(&json!({})).send().await.unwrap();
        emulator.shutdown().await;
    }
}
