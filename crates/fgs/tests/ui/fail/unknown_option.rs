// An unknown option is reported with the list of valid ones; the options after it are
// still read, so a second mistake (the timeout) is reported in the same run.

#[fgs::fgs_function(function = "default/hello", retries = 3, timeout = "soon", log)]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

fn main() {}
