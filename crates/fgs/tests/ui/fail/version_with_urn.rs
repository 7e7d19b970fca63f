// A URN carries its own qualifier, so `version` does not go with `urn`.

#[fgs::fgs_function(
    urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest",
    version = "1"
)]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
