// `function` is "package/name"; a bare name is rejected.

#[fgs::fgs_function(function = "hello")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
