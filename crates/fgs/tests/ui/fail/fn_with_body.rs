// A stub has no body: the macro writes it.

#[fgs::fgs_function(function = "default/hello")]
async fn hello(client: &fgs::Client, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error> {
    let _ = (client, input);
    todo!()
}

fn main() {}
