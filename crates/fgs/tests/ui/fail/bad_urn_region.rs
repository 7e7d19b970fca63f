// An invalid region in a pinned URN is rejected at compile time, naming the part.

#[fgs::fgs_function(urn = "urn:fss:CN:0123456789abcdef0123456789abcdef:function:default:hello:latest")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
