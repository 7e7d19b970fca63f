//! The main job: start a local FunctionGraph (the fgs emulator) on 127.0.0.1, register a
//! function, invoke it through the fgs client over HTTP with AK/SK request signing (which
//! the emulator verifies as the API gateway does), and print the typed result, log and
//! summary.
//!
//! Run with `cargo run -p fgs --example invoke_local`.

use fgs::auth::{AkSkAuth, Credentials};
use fgs::{Client, FunctionUrn};
use fgs_emulator::{Emulator, Function, FunctionError, Handler};
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
    let hello = Handler::from_fn(|event, ctx| async move {
        let Some(name) = event["name"].as_str() else {
            return Err(FunctionError::new("ValueError", "name is required"));
        };
        ctx.log(format!("greeting {name}"));
        Ok(serde_json::json!({ "message": format!("Hello, {name}!"), "length": name.len() }))
    });
    // Fake keys for the local emulator: nothing here reaches a real account.
    let (access_key, secret_key) = ("AKLOCALEXAMPLE000001", "SKlocalExample0123456789abcdefghijklmnop");
    let emulator = Emulator::builder()
        .access_key(access_key, secret_key)
        .function(Function::new("default", "hello", hello))
        .start()
        .await?;
    println!("local FunctionGraph listening on {}", emulator.endpoint());

    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .region(emulator.region())
        .auth(AkSkAuth::new(Credentials::new(access_key, secret_key)))
        .build()?;
    let urn: FunctionUrn = emulator.urn("default", "hello", Some("latest")).parse()?;
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
    emulator.shutdown().await;
    Ok(())
}
