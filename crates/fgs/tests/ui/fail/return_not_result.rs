// A stub returns a `Result`, not the bare output.

#[fgs::fgs_function(function = "default/hello")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> serde_json::Value;

fn main() {}
