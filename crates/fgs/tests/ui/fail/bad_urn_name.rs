// A function name in a pinned URN must start with a letter.

#[fgs::fgs_function(urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:9hello")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
