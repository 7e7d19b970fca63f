// A stub takes one input after the client; several values go in a struct.

#[fgs::fgs_function(function = "default/hello")]
async fn hello(client: &fgs::Client, name: String, greeting: String) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
