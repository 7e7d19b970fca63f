// `urn` and `function` both name the function: only one may be given.

#[fgs::fgs_function(
    urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest",
    function = "default/hello"
)]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
