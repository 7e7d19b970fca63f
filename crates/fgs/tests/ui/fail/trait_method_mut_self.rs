// A function method takes `&self`, not `&mut self`.

#[fgs::fgs_functions]
trait Greetings {
    #[function(function = "default/hello")]
    async fn hello(&mut self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;
}

fn main() {}
