//! Every form of `#[fgs_function]` and `#[fgs_functions]` compiles, and the doc comments
//! carry over so that `missing_docs` is satisfied. Nothing is called at run time.

#![deny(missing_docs)]

use fgs::{Client, Error, InvokeOutput, fgs_function, fgs_functions};
use serde::{Deserialize, Serialize};

/// Input of `hello`.
#[derive(Debug, Serialize)]
pub struct HelloIn {
    /// Who to greet.
    pub name: String,
}

/// Output of `hello`.
#[derive(Debug, Deserialize)]
pub struct HelloOut {
    /// The greeting.
    pub message: String,
}

/// A pinned URN, with every option that takes a value.
#[fgs_function(
    urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest",
    log,
    response_version = "v1",
    memory = 512,
    timeout = "30s",
    idempotent,
    output = "json"
)]
pub async fn hello_pinned(client: &Client, input: HelloIn) -> Result<HelloOut, Error>;

/// A function and version, resolved against the client's region and project.
#[fgs_function(function = "default/hello", version = "latest", timeout = "500ms")]
pub async fn hello_version(client: &Client, input: HelloIn) -> Result<HelloOut, Error>;

/// A function and alias.
#[fgs_function(function = "default/hello", alias = "prod", timeout = "2m", log = false)]
pub async fn hello_alias(client: &Client, input: HelloIn) -> Result<HelloOut, Error>;

/// The qualifier written in the function reference, as the CLI takes it.
#[fgs_function(function = "default/hello:!prod")]
pub async fn hello_inline_alias(client: &Client, input: HelloIn) -> Result<HelloOut, Error>;

/// The raw output.
#[fgs_function(function = "default/hello", output = "raw", log)]
pub async fn hello_raw(client: &Client, input: HelloIn) -> Result<InvokeOutput, Error>;

/// A function behind API Gateway.
#[fgs_function(function = "default/web", output = "api_gateway")]
pub async fn web(client: &Client, input: serde_json::Value) -> Result<HelloOut, Error>;

/// No input: the function gets `{}`.
#[fgs_function(function = "default/ping", response_version = "v0")]
pub async fn ping(client: &Client) -> Result<serde_json::Value, Error>;

/// The greeting functions as one typed client.
#[fgs_functions]
pub trait Greetings {
    /// Says hello.
    #[function(function = "default/hello", alias = "prod", memory = 256)]
    async fn hello(&self, input: HelloIn) -> Result<HelloOut, Error>;

    /// Pings, without input.
    #[function(urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:ping")]
    async fn ping(&self) -> Result<serde_json::Value, Error>;
}

/// A fake for tests of code that depends on the trait.
pub struct FakeGreetings;

#[fgs::async_trait]
impl Greetings for FakeGreetings {
    async fn hello(&self, input: HelloIn) -> Result<HelloOut, Error> {
        Ok(HelloOut {
            message: format!("fake {}", input.name),
        })
    }

    async fn ping(&self) -> Result<serde_json::Value, Error> {
        Ok(serde_json::Value::Null)
    }
}

/// The generated client and the fake both stand in for the trait.
pub fn as_trait_objects(client: Client) -> [Box<dyn Greetings>; 2] {
    [Box::new(GreetingsClient::new(client)), Box::new(FakeGreetings)]
}

fn main() {}
