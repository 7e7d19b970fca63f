// An alias is checked with the URN rules (the leading `!` is optional).

#[fgs::fgs_function(function = "default/hello", alias = "!-x")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
