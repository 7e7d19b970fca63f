// `response_version` is "v0" or "v1".

#[fgs::fgs_function(function = "default/hello", response_version = "v2")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
