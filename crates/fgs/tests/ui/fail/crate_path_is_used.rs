// `crate = "..."` is the path the expansion uses: a path that does not resolve is an error
// there (and `::fgs` is not silently used instead).

#[fgs::fgs_function(function = "default/hello", crate = "no_such_sdk")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
