// A function has one qualifier: `version` or `alias`, not both.

#[fgs::fgs_function(function = "default/hello", version = "latest", alias = "prod")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
