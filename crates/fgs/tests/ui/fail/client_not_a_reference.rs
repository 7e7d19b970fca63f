// The client is taken by reference.

#[fgs::fgs_function(function = "default/hello")]
async fn hello(client: fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
