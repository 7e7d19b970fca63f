// A qualifier is given once: in the function reference or with `version`/`alias`.

#[fgs::fgs_function(function = "default/hello:v1", alias = "prod")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
