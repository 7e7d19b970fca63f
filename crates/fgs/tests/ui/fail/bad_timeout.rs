// A timeout is a whole number with a unit; fractions are rejected.

#[fgs::fgs_function(function = "default/hello", timeout = "1.5s")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
