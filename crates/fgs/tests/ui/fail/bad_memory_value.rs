// `memory` must be one of the sizes the API allows (500 MB is not); the macro checks it
// with a const assertion against the generated list.

#[fgs::fgs_function(function = "default/hello", memory = 500)]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
