//! The blocking client (feature `blocking`) from a plain `fn main`: no async runtime of
//! your own. A local FunctionGraph (the fgs emulator) runs on 127.0.0.1 on a background
//! runtime, standing in for the cloud; the client drives its own.
//!
//! Run with `cargo run -p fgs --features blocking --example blocking_local`.

use fgs::auth::StaticToken;
use fgs_emulator::{Emulator, Function, Handler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The stand-in for the cloud: an emulator on a runtime of its own.
    let cloud = tokio::runtime::Runtime::new()?;
    let emulator = cloud.block_on(
        Emulator::builder()
            .token("local-token")
            .function(Function::new(
                "default",
                "double",
                Handler::from_fn(|event, _| async move {
                    Ok(serde_json::json!({ "twice": event["n"].as_i64().unwrap_or(0) * 2 }))
                }),
            ))
            .start(),
    )?;

    // Everything below is ordinary blocking code.
    let client = fgs::Client::builder()
        .endpoint_url(emulator.endpoint())
        .region(emulator.region())
        .project_id(emulator.project_id())
        .auth(StaticToken::new("local-token"))
        .build_blocking()?;

    let output = client
        .invoke("default/double")
        .json(&serde_json::json!({ "n": 21 }))
        .send()?;
    println!("one call:   {}", output.result_str()?);

    // Many calls, at most 4 in flight, outcomes in input order.
    let calls = (1..=8).map(|n| client.invoke("default/double").json(&serde_json::json!({ "n": n })));
    for outcome in client.invoke_all(calls, 4)? {
        println!("fan-out:    {}", outcome?.result_str()?);
    }
    Ok(())
}
