// Three mistakes in one attribute give three errors, in one run, and nothing else.

#[fgs::fgs_function(function = "default/hello", timeout = "1.5s", output = "text", retries = 3)]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
