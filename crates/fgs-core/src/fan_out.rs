//! Many calls at once, with bounded concurrency and results in input order.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::Error;
use crate::invoke::{Invoke, InvokeOutput};
use crate::transport::{Delivery, TransportError};

/// Sends `calls` with at most `concurrency` in flight (0 counts as 1), and returns their
/// outcomes in the order the calls came in. One call failing does not stop the others.
///
/// Cost model: each call is one Tokio task, started when a slot is free; the calls share
/// the client's connection pool, so `concurrency` is also about how many connections are
/// open to the endpoint. Every outcome is kept until all calls are done, so memory grows
/// with the number of calls times the result size: feed very large batches in chunks.
/// Each call keeps its own deadline and retry policy, as if sent alone; nothing is sent
/// twice that would not be sent twice alone.
///
/// Outside a Tokio runtime the calls run one after another.
///
/// ```no_run
/// # async fn demo(client: fgs_core::Client) {
/// let calls = (0..100).map(|n| client.invoke("default/resize").json(&serde_json::json!({ "image": n })));
/// let outcomes = fgs_core::invoke_all(calls, 8).await;
/// let failed = outcomes.iter().filter(|outcome| outcome.is_err()).count();
/// println!("{} ran, {failed} failed", outcomes.len() - failed);
/// # }
/// ```
pub async fn invoke_all(
    calls: impl IntoIterator<Item = Invoke>,
    concurrency: usize,
) -> Vec<Result<InvokeOutput, Error>> {
    let calls: Vec<Invoke> = calls.into_iter().collect();
    if tokio::runtime::Handle::try_current().is_err() {
        let mut outcomes = Vec::with_capacity(calls.len());
        for call in calls {
            outcomes.push(call.send().await);
        }
        return outcomes;
    }
    let slots = Arc::new(Semaphore::new(concurrency.clamp(1, Semaphore::MAX_PERMITS)));
    let mut tasks = tokio::task::JoinSet::new();
    let total = calls.len();
    for (index, call) in calls.into_iter().enumerate() {
        // The semaphore is never closed, so acquiring only waits.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        tasks.spawn(async move {
            let outcome = call.send().await;
            drop(slot);
            (index, outcome)
        });
    }
    let mut outcomes: Vec<Option<Result<InvokeOutput, Error>>> = (0..total).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, outcome)) => {
                if let Some(place) = outcomes.get_mut(index) {
                    *place = Some(outcome);
                }
            }
            // A call's task can only end this way if the call panicked: let it propagate.
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => {}
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|| Err(cancelled())))
        .collect()
}

/// A call whose task ended without an outcome: the runtime shut down under it, possibly
/// after the request went out.
fn cancelled() -> Error {
    Error::Transport(TransportError::other(
        Delivery::MaybeSent,
        std::io::Error::other("the call's task was cancelled: the runtime shut down"),
    ))
}
