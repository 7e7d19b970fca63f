// Without `urn` or `function` the stub does not know what to call.

#[fgs::fgs_function(log)]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
