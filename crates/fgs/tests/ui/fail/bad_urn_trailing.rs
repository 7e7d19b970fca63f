// A pinned URN has nothing after its version.

#[fgs::fgs_function(urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest:x")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
