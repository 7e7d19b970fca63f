// Every method of a #[fgs_functions] trait names its function with #[function(...)].

#[fgs::fgs_functions]
trait Greetings {
    #[function(function = "default/hello")]
    async fn hello(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

    async fn goodbye(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;
}

fn main() {}
