//! The main job: start a local FunctionGraph on 127.0.0.1, invoke a function through the
//! fgs client over HTTP, and print its typed result, log and summary.
//!
//! Run with `cargo run -p fgs-tests --example invoke_local`.

use fgs::auth::StaticToken;
use fgs::{Client, FunctionUrn};
use fgs_tests::{LocalFunctionGraph, Outcome};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct HelloIn {
    name: String,
}

#[derive(Debug, Deserialize)]
struct HelloOut {
    message: String,
    length: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let local = LocalFunctionGraph::start().await?;
    local.register("default", "hello", |invocation| {
        let name = invocation.event["name"].as_str().unwrap_or("world").to_owned();
        Outcome::Return {
            result: serde_json::json!({ "message": format!("Hello, {name}!"), "length": name.len() }),
            log: vec![format!("greeting {name}")],
        }
    });
    println!("local FunctionGraph listening on {}", local.endpoint());

    let client = Client::builder()
        .endpoint_url(local.endpoint())
        .region(LocalFunctionGraph::REGION)
        .auth(StaticToken::new(LocalFunctionGraph::TOKEN))
        .build()?;
    let urn: FunctionUrn = local.urn("default", "hello", Some("latest")).parse()?;
    println!("invoking {urn}");

    let output = client
        .invoke(&urn)
        .json(&HelloIn { name: "fgs".into() })
        .log_tail(true)
        .send()
        .await?;
    if let Some(error) = output.function_error()? {
        return Err(format!("the function raised {error:?}").into());
    }
    let result: HelloOut = output.result_json()?;
    println!("result:     {:?} ({} characters)", result.message, result.length);
    println!("request id: {}", output.request_id().unwrap_or("-"));
    if let Some(summary) = output.summary() {
        println!(
            "summary:    duration {:.3} ms, billed {} ms, memory {:.1} of {} MB",
            summary.duration.unwrap_or_default(),
            summary.billing_duration.unwrap_or_default(),
            summary.memory_used.unwrap_or_default(),
            summary.memory_size.unwrap_or_default(),
        );
    }
    println!("log:");
    for line in output.log().unwrap_or_default().lines() {
        println!("  {line}");
    }
    Ok(())
}
