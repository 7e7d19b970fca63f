// A stub returns `Result<Output, fgs::Error>`; leaving the return type out is an error.

#[fgs::fgs_function(function = "default/hello")]
async fn hello(client: &fgs::Client, input: serde_json::Value);

fn main() {}
