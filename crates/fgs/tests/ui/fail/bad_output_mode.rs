// `output` is "json", "raw" or "api_gateway".

#[fgs::fgs_function(function = "default/hello", output = "text")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
