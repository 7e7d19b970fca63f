//! `crate = "..."` points the expansion at the facade under another name, as when a
//! crate re-exports `fgs`. (`::fgs` resolves here too; `fail/crate_path_is_used.rs` shows
//! that the expansion really goes through the path given.)

#![deny(missing_docs)]

extern crate fgs as fgs_again;

use fgs_again::{Client, Error};
use serde_json::Value;

/// A free stub through the renamed crate.
#[fgs_again::fgs_function(function = "default/hello", memory = 128, crate = "fgs_again")]
pub async fn hello(client: &Client, input: Value) -> Result<Value, Error>;

/// A trait through the renamed crate.
#[fgs_again::fgs_functions(crate = "fgs_again")]
pub trait Greetings {
    /// Says hello.
    #[function(function = "default/hello", response_version = "v1")]
    async fn hello(&self, input: Value) -> Result<Value, Error>;
}

/// The generated client.
pub fn greetings(client: Client) -> GreetingsClient {
    GreetingsClient::new(client)
}

fn main() {}
