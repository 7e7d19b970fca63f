// A free stub takes the client as an argument, not `self`; methods belong in a
// #[fgs_functions] trait.

struct Api;

impl Api {
    #[fgs::fgs_function(function = "default/hello")]
    async fn hello(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;
}

fn main() {}
