// #[fgs_functions] takes only `crate`; function options go on each method.

#[fgs::fgs_functions(log)]
trait Greetings {
    #[function(function = "default/hello")]
    async fn hello(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;
}

fn main() {}
