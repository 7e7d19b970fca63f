//! End to end: the fgs client against a local FunctionGraph stand-in, over real TCP on
//! 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::time::Duration;

use fgs::auth::StaticToken;
use fgs::transport::{Delivery, TransportErrorKind};
use fgs::{Client, Error, ErrorCode, FunctionUrn, InstanceMemory, InvalidInput, ResponseVersion};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, FunctionError, Handler};
use serde::Deserialize;
use serde_json::json;

const TOKEN: &str = "e2e-token";

fn hello() -> Function {
    let greet = Handler::from_fn(|event, ctx| async move {
        ctx.log("saying hello");
        Ok(json!({ "greeting": format!("hello, {}", event["name"].as_str().unwrap_or("nobody")) }))
    });
    Function::new("default", "hello", greet).alias("prod", "latest")
}

async fn server() -> Emulator {
    Emulator::builder()
        .token(TOKEN)
        .function(hello())
        .start()
        .await
        .expect("start the emulator")
}

fn client(server: &Emulator) -> Client {
    Client::builder()
        .endpoint_url(server.endpoint())
        .auth(StaticToken::new(TOKEN))
        .build()
        .expect("client")
}

/// Sees every first answer: mapping tests must not be hidden by a retry.
fn client_without_retries(server: &Emulator) -> Client {
    Client::builder()
        .endpoint_url(server.endpoint())
        .auth(StaticToken::new(TOKEN))
        .retry_policy(fgs::retry::NoRetry)
        .build()
        .expect("client")
}

fn urn(server: &Emulator, name: &str, qualifier: Option<&str>) -> FunctionUrn {
    server.urn("default", name, qualifier).parse().expect("valid URN")
}

#[derive(Debug, Deserialize, PartialEq)]
struct Greeting {
    greeting: String,
}

#[tokio::test]
async fn v1_returns_typed_result_log_and_summary() {
    let server = server().await;
    let output = client(&server)
        .invoke(urn(&server, "hello", Some("latest")))
        .json(&json!({ "name": "fgs" }))
        .log_tail(true)
        .send()
        .await
        .unwrap();

    assert_eq!(output.status(), 200);
    assert_eq!(output.response_version(), &ResponseVersion::V1);
    assert_eq!(
        output.result_json::<Greeting>().unwrap(),
        Greeting {
            greeting: "hello, fgs".into()
        }
    );
    assert!(!output.is_function_error());
    assert_eq!(output.function_error().unwrap(), None);
    assert_eq!(output.function_status(), Some(200));
    let request_id = output.request_id().unwrap();
    assert_eq!(output.typed_headers().request_id.as_deref(), Some(request_id));

    let log = output.log().unwrap();
    assert!(log.contains("saying hello"), "{log}");
    assert!(log.contains(&format!("Start invoke request '{request_id}'")), "{log}");

    let summary = output.summary().unwrap();
    assert!(summary.duration.unwrap() >= 0.0);
    assert!(summary.billing_duration.unwrap() >= 1.0);
    assert_eq!(summary.memory_size, Some(128));
    assert!(output.billing_duration_header().is_some());

    let request = &server.requests()[0];
    assert_eq!(request.headers["x-cff-request-version"], "v1");
    assert_eq!(request.headers["x-cff-log-type"], "tail");
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["x-auth-token"], TOKEN);
    assert!(request.headers["user-agent"].to_str().unwrap().starts_with("fgs-rust/"));
    assert_eq!(&request.body[..], br#"{"name":"fgs"}"#);
}

#[tokio::test]
async fn v0_decodes_into_the_same_output_with_the_log_from_the_header() {
    let server = server().await;
    let output = client(&server)
        .invoke(urn(&server, "hello", None))
        .json(&json!({ "name": "v0" }))
        .response_version(ResponseVersion::V0)
        .log_tail(true)
        .send()
        .await
        .unwrap();
    assert_eq!(output.response_version(), &ResponseVersion::V0);
    assert_eq!(output.result_json::<Greeting>().unwrap().greeting, "hello, v0");
    assert!(output.request_id().is_some());
    // v0 carries the log only in the base64 header.
    assert!(output.log().unwrap().contains("saying hello"));
    assert!(output.headers().contains_key("x-cff-function-log"));
    assert_eq!(server.requests()[0].headers["x-cff-request-version"], "v0");
}

#[tokio::test]
async fn no_log_unless_asked() {
    let server = server().await;
    let output = client(&server)
        .invoke(urn(&server, "hello", None))
        .send()
        .await
        .unwrap();
    assert_eq!(output.log(), None);
    assert!(!server.requests()[0].headers.contains_key("x-cff-log-type"));
    // The default event is an empty JSON object.
    assert_eq!(&server.requests()[0].body[..], b"{}");
}

#[tokio::test]
async fn raw_bytes_are_sent_as_given() {
    let server = server().await;
    let body = bytes::Bytes::from_static(br#"{"name":"raw"}"#);
    let output = client(&server)
        .invoke(urn(&server, "hello", None))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(output.result_json::<Greeting>().unwrap().greeting, "hello, raw");
    assert_eq!(server.requests()[0].body, body);
}

#[tokio::test]
async fn a_function_that_raises_is_data_not_an_error() {
    let server = server().await;
    let broken = Handler::from_fn(|_, ctx| async move {
        ctx.log("about to fail");
        Err(FunctionError::new("ValueError", "bad input").with_stack_trace(["File \"index.py\", line 3, in handler"]))
    });
    server.add_function(Function::new("default", "broken", broken));
    let output = client(&server)
        .invoke(urn(&server, "broken", None))
        .log_tail(true)
        .send()
        .await
        .unwrap();
    assert!(output.is_function_error());
    assert_ne!(output.function_error_code(), Some("0"));
    let error = output.function_error().unwrap().unwrap();
    assert_eq!(error.error_type.as_deref(), Some("ValueError"));
    assert_eq!(error.error_message.as_deref(), Some("bad input"));
    assert_eq!(error.stack_trace.unwrap().len(), 1);
    assert!(output.log().unwrap().contains("about to fail"));
    assert!(output.summary().is_some());
}

#[tokio::test]
async fn alias_urns_are_percent_encoded_in_the_path() {
    let server = server().await;
    let output = client(&server)
        .invoke(urn(&server, "hello", Some("!prod")))
        .send()
        .await
        .unwrap();
    assert!(output.result_json::<Greeting>().is_ok());
    let path = &server.requests()[0].path;
    assert_eq!(
        path,
        &format!(
            "/v2/{p}/fgs/functions/urn%3Afss%3Acn-north-4%3A{p}%3Afunction%3Adefault%3Ahello%3A%21prod/invocations",
            p = server.project_id()
        )
    );
}

#[tokio::test]
async fn instance_memory_is_sent() {
    let server = server().await;
    let output = client(&server)
        .invoke(urn(&server, "hello", None))
        .memory(InstanceMemory::Mb512)
        .send()
        .await
        .unwrap();
    assert_eq!(output.summary().unwrap().memory_size, Some(512));
    assert_eq!(server.requests()[0].headers["x-cff-instance-memory"], "512");
}

#[tokio::test]
async fn async_invoke_is_accepted_and_runs_once() {
    let server = server().await;
    let output = client(&server)
        .invoke_async(urn(&server, "hello", None))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(output.status(), 202);
    assert!(!output.request_id().is_empty());
    assert!(server.requests()[0].path.ends_with("/invocations-async"));
    let record = server
        .wait_for_invocation(output.request_id(), Duration::from_secs(5))
        .await
        .expect("the run");
    assert_eq!(
        record.outcome,
        Some(fgs_emulator::RunOutcome::Returned(
            json!({ "greeting": "hello, nobody" })
        ))
    );
    assert_eq!(server.invocation_count("default", "hello"), 1);
}

#[tokio::test]
async fn missing_function_version_and_alias_are_typed_404s() {
    let server = server().await;
    let client = client(&server);
    let cases = [
        (urn(&server, "nope", None), ErrorCode::FunctionNotFound),
        (
            urn(&server, "hello", Some("v20240101-000000")),
            ErrorCode::VersionNotFound,
        ),
        (urn(&server, "hello", Some("!missing")), ErrorCode::AliasNotFound),
    ];
    for (urn, code) in cases {
        let err = client.invoke(&urn).send().await.unwrap_err();
        let Error::Service(service) = &err else {
            panic!("expected a service error, got {err:?}")
        };
        assert_eq!(service.status(), 404);
        assert_eq!(service.code(), Some(&code), "{err}");
        assert!(service.request_id().is_some(), "{err}");
        assert!(err.is_retry_safe(), "a 404 means the function did not run");
        assert!(
            err.to_string().starts_with(&format!("{} (HTTP 404): ", code.as_str())),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_wrong_token_is_a_gateway_401_that_does_not_echo_the_token() {
    let server = server().await;
    let client = Client::builder()
        .endpoint_url(server.endpoint())
        .auth(StaticToken::new("wrong-token-value"))
        .build()
        .unwrap();
    let err = client.invoke(urn(&server, "hello", None)).send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(err.code(), Some(&ErrorCode::IncorrectAuthentication));
    assert!(err.request_id().is_some());
    assert!(!err.to_string().contains("wrong-token-value"));
    assert!(!format!("{err:?}").contains("wrong-token-value"));
    assert_eq!(server.invocation_count("default", "hello"), 0);
}

/// Every documented error status, with FunctionGraph's and the gateway's body shapes.
#[tokio::test]
async fn every_error_status_maps_to_a_typed_service_error() {
    let server = server().await;
    let client = client_without_retries(&server);
    let urn = urn(&server, "hello", None);
    let cases: &[(u16, &str, Option<ErrorCode>, bool)] = &[
        (
            400,
            r#"{"error_code":"FSS.0400","error_msg":"Invalid parameter"}"#,
            Some(ErrorCode::InvalidParameter),
            true,
        ),
        (
            401,
            r#"{"error_code":"APIGW.0307","error_msg":"The token must be updated","request_id":"gw-401"}"#,
            Some(ErrorCode::TokenExpired),
            true,
        ),
        (
            403,
            r#"{"error_code":"FSS.0403","error_msg":"Forbidden"}"#,
            Some(ErrorCode::Forbidden),
            true,
        ),
        (
            404,
            r#"{"error_code":"APIGW.0101","error_msg":"The API does not exist","request_id":"gw-404"}"#,
            Some(ErrorCode::ApiNotFound),
            true,
        ),
        (
            413,
            r#"{"error_code":"FSS.1201","error_msg":"The request body is too large"}"#,
            Some(ErrorCode::RequestBodyTooLarge),
            true,
        ),
        (
            429,
            r#"{"error_code":"FSS.0429","error_msg":"Too many concurrent requests"}"#,
            Some(ErrorCode::TooManyRequests),
            true,
        ),
        (
            429,
            r#"{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached","request_id":"gw-429"}"#,
            Some(ErrorCode::ThrottlingThresholdReached),
            true,
        ),
        (
            500,
            r#"{"error_code":"FSS.0500","error_msg":"Internal server error"}"#,
            Some(ErrorCode::InternalServerError),
            false,
        ),
        (
            502,
            r#"{"error_code":"FSS.0502","error_msg":"Bad gateway"}"#,
            Some(ErrorCode::BadGateway),
            false,
        ),
        (
            503,
            r#"{"error_code":"FSS.1402","error_msg":"Failed to pull image"}"#,
            Some(ErrorCode::ImagePullFailed),
            true,
        ),
        (
            503,
            r#"{"error_code":"FSS.0503","error_msg":"Service unavailable"}"#,
            Some(ErrorCode::ServiceUnavailable),
            false,
        ),
        (
            504,
            r#"{"error_code":"APIGW.0201","error_msg":"Backend timeout","request_id":"gw-504"}"#,
            Some(ErrorCode::GatewayRequestError),
            false,
        ),
        (
            500,
            r#"{"error_code":"FSS.7777","error_msg":"Something new"}"#,
            Some(ErrorCode::Unknown("FSS.7777".into())),
            false,
        ),
    ];
    for (status, body, code, retry_safe) in cases {
        server.inject(FaultRule::once(Fault::response(
            *status,
            vec![("Content-Type".into(), "application/json".into())],
            *body,
        )));
        let err = client.invoke(&urn).send().await.unwrap_err();
        let Error::Service(service) = &err else {
            panic!("expected a service error for {status}, got {err:?}")
        };
        assert_eq!(service.status(), *status);
        assert_eq!(service.code(), code.as_ref(), "{body}");
        assert_eq!(err.is_retry_safe(), *retry_safe, "{body}");
        assert_eq!(service.body().as_ref(), body.as_bytes(), "the raw body is kept");
        let message = serde_json::from_str::<serde_json::Value>(body).unwrap()["error_msg"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(service.message(), message);
        assert!(err.to_string().contains(&message), "{err}");
        if body.contains("request_id") {
            assert!(
                service.request_id().unwrap().starts_with("gw-"),
                "the body's request id wins: {err}"
            );
        }
    }
}

#[tokio::test]
async fn an_html_page_from_a_proxy_is_still_a_readable_service_error() {
    let server = server().await;
    let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    server.inject(FaultRule::once(Fault::response(
        502,
        vec![
            ("Content-Type".into(), "text/html".into()),
            ("X-Request-Id".into(), "proxy-1".into()),
        ],
        html,
    )));
    let err = client(&server)
        .invoke(urn(&server, "hello", None))
        .send()
        .await
        .unwrap_err();
    let Error::Service(service) = &err else {
        panic!("expected a service error, got {err:?}")
    };
    assert_eq!(service.status(), 502);
    assert_eq!(service.code(), None);
    assert_eq!(service.request_id(), Some("proxy-1"));
    assert_eq!(service.body().as_ref(), html.as_bytes());
    assert!(!err.is_retry_safe(), "a 502 after sending may have run the function");
    assert_eq!(
        err.to_string(),
        format!(
            "HTTP 502 Bad Gateway: non-JSON response body (text/html, {} bytes) [request id proxy-1]; the function may \
             have run",
            html.len()
        )
    );
}

#[tokio::test]
async fn a_malformed_success_body_is_a_decode_error_that_keeps_the_bytes() {
    let server = server().await;
    server.inject(FaultRule::once(Fault::response(
        200,
        vec![("X-Cff-Response-Version".into(), "v1".into())],
        "{not json",
    )));
    let err = client(&server)
        .invoke(urn(&server, "hello", None))
        .send()
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("expected a decode error, got {err:?}")
    };
    assert_eq!(decode.body().as_ref(), b"{not json");
    assert_eq!(decode.status().map(|s| s.as_u16()), Some(200));
    assert!(!err.is_retry_safe());
    assert!(
        err.to_string()
            .starts_with("cannot decode the v1 response body of invokeFunction (HTTP 200, the function ran)"),
        "{err}"
    );
    // Why, once: the JSON error is the cause.
    assert!(std::error::Error::source(&err).is_some(), "{err:?}");
}

#[tokio::test]
async fn a_malformed_summary_header_keeps_the_result_and_names_the_header() {
    let server = server().await;
    server.inject(FaultRule::once(Fault::response(
        200,
        vec![("X-Cff-Invoke-Summary".into(), "duration=3".into())],
        r#"{"request_id":"r","result":"{}","log":"","status":200}"#,
    )));
    let output = client(&server)
        .invoke(urn(&server, "hello", None))
        .send()
        .await
        .unwrap();
    assert_eq!(output.result().as_ref(), b"{}");
    assert!(output.summary().is_none());
    assert_eq!(output.summary_raw().as_deref(), Some("duration=3"));
    assert_eq!(output.problems().len(), 1);
    assert!(
        output.problems()[0]
            .to_string()
            .starts_with("header X-Cff-Invoke-Summary"),
        "{:?}",
        output.problems()
    );
}

#[tokio::test]
async fn a_result_that_is_not_json_is_reported_with_its_bytes() {
    let server = server().await;
    server.add_function(Function::new(
        "default",
        "text",
        Handler::from_fn(|_, _| async { Ok(json!("plain words")) }),
    ));
    let output = client(&server).invoke(urn(&server, "text", None)).send().await.unwrap();
    assert_eq!(output.result_json::<String>().unwrap(), "plain words");
    let err = output.result_json::<Greeting>().unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("expected a decode error, got {err:?}")
    };
    assert_eq!(decode.body(), output.result());
}

#[test]
fn an_invalid_urn_is_a_typed_error_naming_the_part() {
    let err: Error = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:9hello"
        .parse::<FunctionUrn>()
        .unwrap_err()
        .into();
    assert!(err.is_retry_safe());
    assert!(matches!(&err, Error::InvalidInput(InvalidInput::Urn(e)) if e.part() == fgs::UrnPart::Name));
    assert!(err.to_string().contains("function name"), "{err}");
}

#[tokio::test]
async fn an_oversized_payload_never_reaches_the_server() {
    let server = server().await;
    let too_big = vec![b' '; 6 * 1024 * 1024 + 1];
    let err = client(&server)
        .invoke(urn(&server, "hello", None))
        .body(too_big)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(InvalidInput::PayloadTooLarge { size, limit: 6_291_456, .. }) if *size == 6_291_457),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("invalid input, nothing was sent: "),
        "{err}"
    );
    // The asynchronous limit is smaller.
    let err = client(&server)
        .invoke_async(urn(&server, "hello", None))
        .body(vec![b' '; 262_145])
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidInput(InvalidInput::PayloadTooLarge { limit: 262_144, .. })
        ),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn exactly_six_mebibytes_is_sent() {
    let server = server().await;
    // A JSON object padded with spaces to the limit.
    let mut body = vec![b' '; 6 * 1024 * 1024];
    body[0] = b'{';
    body[6 * 1024 * 1024 - 1] = b'}';
    let output = client(&server)
        .invoke(urn(&server, "hello", None))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(output.result_json::<Greeting>().is_ok());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn an_unserialisable_payload_sends_nothing() {
    let server = server().await;
    let mut map = std::collections::HashMap::new();
    map.insert((1, 2), "tuple keys are not JSON object keys");
    let err = client(&server)
        .invoke(urn(&server, "hello", None))
        .json(&map)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(InvalidInput::Serialize(_))),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn a_urn_from_another_region_is_refused_before_sending() {
    let server = server().await;
    let client = Client::builder()
        .region("ap-southeast-1")
        .endpoint_url(server.endpoint())
        .auth(StaticToken::new(TOKEN))
        .build()
        .unwrap();
    let err = client.invoke(urn(&server, "hello", None)).send().await.unwrap_err();
    let Error::InvalidInput(wrong @ InvalidInput::WrongRegion { .. }) = &err else {
        panic!("expected a wrong-region error, got {err:?}")
    };
    assert_eq!(
        wrong.to_string(),
        "function URN is in region cn-north-4 but the client is configured for region ap-southeast-1"
    );
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn a_refused_connection_is_not_sent_and_safe_to_retry() {
    // A port that is bound but never listens refuses connections, and stays ours (no other
    // test can start listening on it) until `_socket` is dropped at the end; binding port 0,
    // dropping the listener and reusing the number would race with every other test.
    let _socket = tokio::net::TcpSocket::new_v4().unwrap();
    _socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let port = _socket.local_addr().unwrap().port();
    let client = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .auth(StaticToken::new("t"))
        .build()
        .unwrap();
    let urn: FunctionUrn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello"
        .parse()
        .unwrap();
    let err = client.invoke(&urn).send().await.unwrap_err();
    let Error::Transport(transport) = &err else {
        panic!("expected a transport error, got {err:?}")
    };
    assert_eq!(transport.kind(), TransportErrorKind::Connect);
    assert_eq!(transport.delivery(), Delivery::NotSent);
    assert!(err.is_retry_safe());
    assert!(
        err.to_string()
            .starts_with("could not connect (the request was not sent)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_function_times_out_with_an_unknown_outcome() {
    let server = server().await;
    // The run outlasts the client's timeout by a minute, so a loaded machine cannot let
    // it finish first.
    let slow = Handler::from_fn(|_, _| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(json!("late"))
    });
    server.add_function(Function::new("default", "slow", slow).timeout(Duration::from_secs(120)));
    let client = client(&server);
    let err = client
        .invoke(urn(&server, "slow", None))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    let Error::Timeout(timeout) = &err else {
        panic!("expected a timeout, got {err:?}")
    };
    assert_eq!(timeout.delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe(), "the function may be running");
    assert!(
        err.to_string()
            .starts_with("timed out (the request may have reached the service)"),
        "{err}"
    );
    assert_eq!(server.request_count(), 1, "sent once, never re-sent");
}
