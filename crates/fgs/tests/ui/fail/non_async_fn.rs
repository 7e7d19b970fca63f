// A stub is an `async fn`.

#[fgs::fgs_function(function = "default/hello")]
fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
