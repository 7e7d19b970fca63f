//! `#[fgs_function]` and `#[fgs_functions]` stubs end to end against the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// test code: a failure should stop the test
// The stubs' doc comments carry over and the generated client is documented.
#![deny(missing_docs)]

use std::time::Duration;

use fgs::auth::StaticToken;
use fgs::{Client, Error, InvokeOutput, fgs_function, fgs_functions};
use fgs_emulator::{Emulator, Function, FunctionError, Handler};
use serde::{Deserialize, Serialize};
use serde_json::json;

const TOKEN: &str = "stub-token";

/// Input of `hello`.
#[derive(Debug, Serialize)]
pub struct HelloIn {
    /// Who to greet.
    pub name: String,
}

/// Output of `hello`.
#[derive(Debug, Deserialize, PartialEq)]
pub struct HelloOut {
    /// The greeting.
    pub message: String,
}

/// Says hello, pinned to the emulator's default project and region.
#[fgs_function(
    urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest",
    log
)]
pub async fn hello(client: &Client, input: HelloIn) -> Result<HelloOut, Error>;

/// The same function through its alias, resolved in the client's region and project.
#[fgs_function(function = "default/hello", alias = "prod", memory = 256, timeout = "5s")]
async fn hello_prod(client: &Client, input: HelloIn) -> Result<HelloOut, fgs::Error>;

/// The raw output, with log and summary.
#[fgs_function(function = "default/hello", version = "latest", output = "raw", log)]
async fn hello_raw(client: &Client, input: HelloIn) -> Result<InvokeOutput, Error>;

#[fgs_function(function = "default/broken")]
async fn broken(client: &Client) -> Result<serde_json::Value, Error>;

#[fgs_function(function = "default/web", output = "api_gateway", idempotent)]
async fn web(client: &Client, input: serde_json::Value) -> Result<HelloOut, Error>;

/// The greeting functions as one typed client.
#[fgs_functions]
pub trait Greetings {
    /// Says hello.
    #[function(function = "default/hello")]
    async fn hello(&self, input: HelloIn) -> Result<HelloOut, Error>;

    /// Always fails.
    #[function(function = "default/broken", response_version = "v0")]
    async fn broken(&self) -> Result<serde_json::Value, Error>;
}

fn functions() -> Vec<Function> {
    let hello = Handler::from_fn(|event, ctx| async move {
        ctx.log(format!("hello {}", event["name"]));
        Ok(json!({ "message": format!("Hello, {}!", event["name"].as_str().unwrap_or("?")) }))
    });
    let broken = Handler::from_fn(|_, _| async {
        Err(FunctionError::new("ValueError", "bad input").with_stack_trace(["handler.py:3"]))
    });
    // Answers like a function behind API Gateway: {statusCode, isBase64Encoded, body, headers}.
    let web = Handler::from_fn(|event, _| async move {
        let status = event["status"].as_u64().unwrap_or(200);
        let body = r#"{"message":"from the web"}"#;
        Ok(match event["encoding"].as_str() {
            Some("base64") => json!({
                "statusCode": status,
                "isBase64Encoded": true,
                "body": "eyJtZXNzYWdlIjoiZnJvbSB0aGUgd2ViIn0=",
                "headers": { "content-type": "application/json" }
            }),
            _ => json!({ "statusCode": status, "isBase64Encoded": false, "body": body, "headers": {} }),
        })
    });
    vec![
        Function::new("default", "hello", hello).alias("prod", "latest"),
        Function::new("default", "broken", broken),
        Function::new("default", "web", web),
    ]
}

async fn emulator() -> Emulator {
    let mut builder = Emulator::builder().token(TOKEN);
    for function in functions() {
        builder = builder.function(function);
    }
    builder.start().await.unwrap()
}

fn client(emulator: &Emulator) -> Client {
    Client::builder()
        .endpoint_url(emulator.endpoint())
        .region(emulator.region())
        .project_id(emulator.project_id())
        .auth(StaticToken::new(TOKEN))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_pinned_urn_stub_returns_the_typed_output() {
    let emulator = emulator().await;
    let out = hello(&client(&emulator), HelloIn { name: "pinned".into() })
        .await
        .unwrap();
    assert_eq!(
        out,
        HelloOut {
            message: "Hello, pinned!".into()
        }
    );
    let request = &emulator.requests()[0];
    assert_eq!(request.headers["x-cff-log-type"], "tail");
    assert!(
        request.path.ends_with("%3Ahello%3Alatest/invocations"),
        "{}",
        request.path
    );
}

#[tokio::test]
async fn a_client_resolved_stub_uses_the_clients_region_and_project() {
    let emulator = emulator().await;
    let out = hello_prod(&client(&emulator), HelloIn { name: "prod".into() })
        .await
        .unwrap();
    assert_eq!(out.message, "Hello, prod!");
    let run = &emulator.invocations()[0];
    assert_eq!(run.urn, emulator.urn("default", "hello", Some("!prod")));
    assert_eq!(run.memory_mb, 256);

    // Without a region on the client the stub refuses before sending.
    let bare = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .build()
        .unwrap();
    let err = hello_prod(&bare, HelloIn { name: "x".into() }).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("the client has none"), "{err}");
    assert_eq!(emulator.request_count(), 1);
}

#[tokio::test]
async fn a_raw_stub_returns_log_and_summary() {
    let emulator = emulator().await;
    let output = hello_raw(&client(&emulator), HelloIn { name: "raw".into() })
        .await
        .unwrap();
    assert!(output.log().unwrap().contains("hello \"raw\""));
    assert!(output.summary().is_some());
    assert_eq!(output.result_json::<HelloOut>().unwrap().message, "Hello, raw!");
}

#[tokio::test]
async fn a_function_error_becomes_a_typed_error() {
    let emulator = emulator().await;
    let err = broken(&client(&emulator)).await.unwrap_err();
    let Error::Function(failed) = &err else {
        panic!("expected a function error, got {err:?}")
    };
    assert_eq!(failed.error_type.as_deref(), Some("ValueError"));
    assert_eq!(failed.error_message.as_deref(), Some("bad input"));
    assert_eq!(failed.stack_trace, ["handler.py:3"]);
    assert!(failed.request_id.is_some());
    assert!(!err.is_retry_safe());
    assert!(
        err.to_string()
            .starts_with("the function raised ValueError: bad input [request id "),
        "{err}"
    );
}

#[tokio::test]
async fn the_api_gateway_mode_decodes_the_body_and_surfaces_the_status() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let out = web(&client, json!({})).await.unwrap();
    assert_eq!(out.message, "from the web");
    let out = web(&client, json!({ "encoding": "base64" })).await.unwrap();
    assert_eq!(out.message, "from the web");

    let err = web(&client, json!({ "status": 404 })).await.unwrap_err();
    let Error::FunctionStatus(status) = &err else {
        panic!("expected a function status error, got {err:?}")
    };
    assert_eq!(status.status_code, 404);
    assert_eq!(&status.body[..], br#"{"message":"from the web"}"#);
    assert!(
        err.to_string()
            .starts_with(r#"the function answered HTTP 404: {"message":"from the web"}"#),
        "{err}"
    );
}

#[tokio::test]
async fn the_trait_form_generates_a_client_that_implements_the_trait() {
    let emulator = emulator().await;
    let greetings: std::sync::Arc<dyn Greetings> = std::sync::Arc::new(GreetingsClient::new(client(&emulator)));
    let out = greetings.hello(HelloIn { name: "trait".into() }).await.unwrap();
    assert_eq!(out.message, "Hello, trait!");
    let err = greetings.broken().await.unwrap_err();
    assert!(matches!(err, Error::Function(_)), "{err:?}");
    assert_eq!(emulator.requests()[1].headers["x-cff-request-version"], "v0");
}

/// Application code depends on the trait; its unit tests swap in a fake.
async fn greet_everyone(greetings: &dyn Greetings, names: &[&str]) -> Vec<String> {
    let mut messages = Vec::new();
    for name in names {
        if let Ok(out) = greetings.hello(HelloIn { name: (*name).into() }).await {
            messages.push(out.message);
        }
    }
    messages
}

struct FakeGreetings;

#[fgs::async_trait]
impl Greetings for FakeGreetings {
    async fn hello(&self, input: HelloIn) -> Result<HelloOut, Error> {
        Ok(HelloOut {
            message: format!("fake {}", input.name),
        })
    }

    async fn broken(&self) -> Result<serde_json::Value, Error> {
        Ok(json!(null))
    }
}

#[tokio::test]
async fn a_fake_stands_in_for_the_trait() {
    assert_eq!(greet_everyone(&FakeGreetings, &["a", "b"]).await, ["fake a", "fake b"]);
}

#[tokio::test]
async fn the_stub_timeout_applies() {
    let emulator = emulator().await;
    // Runs for a minute, so only the stub's 200 ms timeout can end the call, however loaded
    // the machine.
    let slow = Handler::from_fn(|_, _| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(json!({ "message": "late" }))
    });
    emulator.add_function(Function::new("default", "slow", slow).timeout(Duration::from_secs(120)));

    #[fgs_function(function = "default/slow", timeout = "200ms")]
    async fn slow_call(client: &Client) -> Result<HelloOut, Error>;

    let err = slow_call(&client(&emulator)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
}
