// One mistake in a #[fgs_functions] trait is one error: the trait (with async-trait),
// `GreetingsClient` and its impl are still declared, so code that uses them, including a
// fake, compiles as it will once the mistake is fixed.

use std::sync::Arc;

#[fgs::fgs_functions]
pub trait Greetings {
    #[function(function = "default/9hello")]
    async fn hello(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error>;

    #[function(function = "default/bye")]
    async fn bye(&self) -> Result<(), fgs::Error>;
}

struct Fake;

#[fgs::async_trait]
impl Greetings for Fake {
    async fn hello(&self, input: serde_json::Value) -> Result<serde_json::Value, fgs::Error> {
        Ok(input)
    }

    async fn bye(&self) -> Result<(), fgs::Error> {
        Ok(())
    }
}

fn main() {
    let client = fgs::Client::builder().build().unwrap();
    let real: Arc<dyn Greetings> = Arc::new(GreetingsClient::new(client));
    let fake: Arc<dyn Greetings> = Arc::new(Fake);
    let _ = (real, fake);
}
