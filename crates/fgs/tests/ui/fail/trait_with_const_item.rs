// A functions trait holds only methods; other items are rejected.

#[fgs::fgs_functions]
trait Greetings {
    const REGION: &'static str;

    #[function(function = "default/hello")]
    async fn hello(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;
}

fn main() {}
