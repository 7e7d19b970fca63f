//! The main job: start a local FunctionGraph (the fgs emulator) on 127.0.0.1, register a
//! function, configure the client the way `Client::from_env()` does (here from a map of
//! the same variables, so nothing of your environment is read), invoke the function by
//! name over HTTP with AK/SK request signing (which the emulator verifies as the API
//! gateway does; the project id is looked up from the emulator's IAM, as the official
//! SDKs look it up), and print the typed result, log and summary.
//!
//! Run with `cargo run -p fgs --example invoke_local`.

use std::collections::HashMap;

use fgs::{ClientBuilder, config};
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

    // What `export HUAWEICLOUD_SDK_...=...` would say, for `Client::from_env()`.
    let variables: HashMap<&str, String> = HashMap::from([
        (config::REGION, emulator.region().to_owned()),
        (config::FUNCTIONGRAPH_ENDPOINT, emulator.endpoint()),
        (config::IAM_ENDPOINT, emulator.endpoint()),
        (config::ACCESS_KEY, access_key.to_owned()),
        (config::SECRET_KEY, secret_key.to_owned()),
    ]);
    let client = ClientBuilder::from_lookup(move |name| variables.get(name).cloned()).build()?;
    println!("invoking default/hello in {}", emulator.region());

    let output = client
        .invoke("default/hello:latest")
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
    println!(
        "project id: {} (looked up from IAM once)",
        client.project_id().unwrap_or("-")
    );
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
