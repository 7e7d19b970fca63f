// A function method has no default body: the generated client writes the call.

#[fgs::fgs_functions]
trait Greetings {
    #[function(function = "default/hello")]
    async fn hello(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error> {
        let _ = input;
        todo!()
    }
}

fn main() {}
