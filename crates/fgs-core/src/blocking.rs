//! A blocking client, for programs without an async runtime (feature `blocking`), as
//! `reqwest::blocking` is to reqwest.
//!
//! Same builder, same typed results and errors as the async [`Client`](crate::Client);
//! the calls run on a small runtime of the client's own (one worker thread) and the
//! calling thread waits for them.
//!
//! ```no_run
//! fn main() -> Result<(), fgs_core::Error> {
//!     let client = fgs_core::blocking::Client::from_env()?;
//!     let output = client.invoke("default/hello").json(&serde_json::json!({"name": "fgs"})).send()?;
//!     println!("{}", output.result_str()?);
//!     Ok(())
//! }
//! ```
//!
//! Inside an async runtime, use the async client: a blocking call there would stall the
//! runtime's thread, so [`Invoke::send`] refuses with an [`Error::Config`] saying so
//! instead of blocking (or panicking, as `reqwest::blocking` does).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::error::{ConfigError, Error};
use crate::invoke::{AsyncInvokeOutput, IntoFunctionTarget, InvokeOutput};
use crate::retry::RetryPolicy;
use crate::{ClientBuilder, InstanceMemory, ResponseVersion};

/// A blocking FunctionGraph client. Cheap to clone (two `Arc`s); clones share the
/// connection pool and the runtime, which stops when the last clone is dropped.
#[derive(Clone)]
pub struct Client {
    client: crate::Client,
    runtime: Arc<OwnRuntime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Client")
            .field("client", &self.client)
            .finish()
    }
}

/// The client's runtime. Dropped without waiting, so that dropping the last clone
/// inside an async context does not panic.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl OwnRuntime {
    fn new() -> Result<Self, ConfigError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fgs-blocking")
            .enable_all()
            .build()
            .map(|runtime| OwnRuntime(Some(runtime)))
            .map_err(|e| ConfigError::new("cannot start the blocking client's runtime").with_source(e))
    }

    /// Runs `work` to completion on the runtime, from a thread that is not a runtime's.
    fn block_on<T>(&self, work: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Config(ConfigError::new(
                "the blocking client was called inside an async runtime, where waiting would stall the runtime; \
                 use the async fgs::Client there",
            )));
        }
        match &self.0 {
            Some(runtime) => runtime.block_on(work),
            None => Err(Error::Config(ConfigError::new(
                "the blocking client's runtime has stopped",
            ))),
        }
    }
}

impl Client {
    /// A client configured from the environment, like
    /// [`Client::from_env`](crate::Client::from_env).
    pub fn from_env() -> Result<Client, ConfigError> {
        ClientBuilder::from_env().build_blocking()
    }

    /// A builder: the same as the async client's, finished with
    /// [`ClientBuilder::build_blocking`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The async client this one drives, e.g. to hand to async code.
    pub fn async_client(&self) -> &crate::Client {
        &self.client
    }

    /// Sets up a synchronous invocation, like [`Client::invoke`](crate::Client::invoke).
    pub fn invoke(&self, function: impl IntoFunctionTarget) -> Invoke {
        Invoke {
            call: self.client.invoke(function),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// Sets up an asynchronous invocation, like
    /// [`Client::invoke_async`](crate::Client::invoke_async).
    pub fn invoke_async(&self, function: impl IntoFunctionTarget) -> InvokeAsync {
        InvokeAsync {
            call: self.client.invoke_async(function),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// Sends `calls` with at most `concurrency` in flight and waits for all of them,
    /// outcomes in input order: [`invoke_all`](crate::invoke_all) on the client's
    /// runtime.
    pub fn invoke_all(
        &self,
        calls: impl IntoIterator<Item = Invoke>,
        concurrency: usize,
    ) -> Result<Vec<Result<InvokeOutput, Error>>, Error> {
        let calls: Vec<crate::Invoke> = calls.into_iter().map(|call| call.call).collect();
        self.runtime
            .block_on(async move { Ok(crate::invoke_all(calls, concurrency).await) })
    }
}

impl ClientBuilder {
    /// Builds a [`blocking::Client`](Client) (feature `blocking`) with its own runtime.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), fgs_core::ConfigError> {
    /// let client = fgs_core::ClientBuilder::from_env().build_blocking()?;
    /// # Ok(()) }
    /// ```
    pub fn build_blocking(self) -> Result<Client, ConfigError> {
        let runtime = OwnRuntime::new()?;
        // The default transport starts its connection pool inside a runtime.
        let client = match &runtime.0 {
            Some(handle) => {
                let _entered = handle.enter();
                self.build()?
            }
            None => self.build()?,
        };
        Ok(Client {
            client,
            runtime: Arc::new(runtime),
        })
    }
}

/// A synchronous invocation being set up on a [`blocking::Client`](Client); the same
/// options as [`crate::Invoke`].
#[must_use = "nothing is sent until `send` is called"]
pub struct Invoke {
    call: crate::Invoke,
    runtime: Arc<OwnRuntime>,
}

impl fmt::Debug for Invoke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.call, f)
    }
}

/// Forwards an option to the async call.
macro_rules! forward {
    ($(#[$doc:meta] $name:ident($($arg:ident: $ty:ty),*) $(<$generic:ident: $bound:path>)?;)*) => {
        $(
            #[$doc]
            pub fn $name$(<$generic: $bound + ?Sized>)?(mut self, $($arg: $ty),*) -> Self {
                self.call = self.call.$name($($arg),*);
                self
            }
        )*
    };
}

impl Invoke {
    forward! {
        /// The event, serialised as JSON ([`crate::Invoke::json`]).
        json(event: &T) <T: Serialize>;
        /// Memory for this invocation only ([`crate::Invoke::memory`]).
        memory(memory: InstanceMemory);
        /// The call's deadline ([`crate::Invoke::timeout`]).
        timeout(timeout: Duration);
        /// The response body cap ([`crate::Invoke::max_response_bytes`]).
        max_response_bytes(limit: u64);
        /// Asks for the log tail ([`crate::Invoke::log_tail`]).
        log_tail(tail: bool);
        /// The response format ([`crate::Invoke::response_version`]).
        response_version(version: ResponseVersion);
        /// Running twice is harmless ([`crate::Invoke::idempotent`]).
        idempotent(idempotent: bool);
        /// The retry policy of this call ([`crate::Invoke::retry_policy`]).
        retry_policy(policy: Arc<dyn RetryPolicy>);
    }

    /// The event as JSON bytes, sent as they are ([`crate::Invoke::body`]).
    pub fn body(mut self, event: impl Into<Bytes>) -> Self {
        self.call = self.call.body(event);
        self
    }

    /// Sends the request and waits for the function's result, like
    /// [`crate::Invoke::send`].
    pub fn send(self) -> Result<InvokeOutput, Error> {
        self.runtime.block_on(self.call.send())
    }
}

/// An asynchronous invocation being set up on a [`blocking::Client`](Client).
#[must_use = "nothing is sent until `send` is called"]
pub struct InvokeAsync {
    call: crate::InvokeAsync,
    runtime: Arc<OwnRuntime>,
}

impl fmt::Debug for InvokeAsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.call, f)
    }
}

impl InvokeAsync {
    forward! {
        /// The event, serialised as JSON ([`crate::InvokeAsync::json`]).
        json(event: &T) <T: Serialize>;
        /// Memory for this invocation only ([`crate::InvokeAsync::memory`]).
        memory(memory: InstanceMemory);
        /// The call's deadline ([`crate::InvokeAsync::timeout`]).
        timeout(timeout: Duration);
    }

    /// The event as JSON bytes ([`crate::InvokeAsync::body`]).
    pub fn body(mut self, event: impl Into<Bytes>) -> Self {
        self.call = self.call.body(event);
        self
    }

    /// Queues the run and waits for the service's answer.
    pub fn send(self) -> Result<AsyncInvokeOutput, Error> {
        self.runtime.block_on(self.call.send())
    }
}
