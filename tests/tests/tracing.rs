//! Each invoke is an `fgs.invoke` span with the function, attempt, status, request id and
//! durations, and never the project id, the payload or credentials.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fgs::auth::StaticToken;
use fgs::{Client, FunctionUrn};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const TOKEN: &str = "TOKEN-THAT-MUST-NOT-BE-TRACED";
const PAYLOAD_MARKER: &str = "PAYLOAD-THAT-MUST-NOT-BE-TRACED";

/// Field names and values, as text.
type FieldMap = BTreeMap<String, String>;

/// Keeps every span's name and fields, and every event's fields, as text.
#[derive(Default)]
struct Capture {
    next: AtomicU64,
    spans: Mutex<BTreeMap<u64, (String, FieldMap)>>,
    events: Mutex<Vec<FieldMap>>,
    entered: Mutex<Vec<u64>>,
    metadata: Mutex<BTreeMap<u64, &'static Metadata<'static>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        self.spans
            .lock()
            .unwrap()
            .insert(id, (attributes.metadata().name().to_owned(), fields));
        self.metadata.lock().unwrap().insert(id, attributes.metadata());
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(fields);
    }

    fn enter(&self, span: &Id) {
        self.entered.lock().unwrap().push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut entered = self.entered.lock().unwrap();
        if let Some(position) = entered.iter().rposition(|id| *id == span.into_u64()) {
            entered.remove(position);
        }
    }

    // What real subscribers do, so that `Span::current()` works in the code under test.
    fn current_span(&self) -> tracing_core::span::Current {
        let Some(id) = self.entered.lock().unwrap().last().copied() else {
            return tracing_core::span::Current::none();
        };
        match self.metadata.lock().unwrap().get(&id) {
            Some(metadata) => tracing_core::span::Current::new(Id::from_u64(id), metadata),
            None => tracing_core::span::Current::none(),
        }
    }
}

impl Capture {
    fn invoke_spans(&self) -> Vec<BTreeMap<String, String>> {
        self.spans
            .lock()
            .unwrap()
            .values()
            .filter(|(name, _)| name == "fgs.invoke")
            .map(|(_, f)| f.clone())
            .collect()
    }

    fn everything(&self) -> String {
        format!("{:?} {:?}", self.spans.lock().unwrap(), self.events.lock().unwrap())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn invokes_are_traced_without_secrets_or_payloads() {
    let capture = Arc::new(Capture::default());
    let _guard = tracing::subscriber::set_default(Arc::clone(&capture));

    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .build()
        .unwrap();
    let urn: FunctionUrn = emulator.urn("default", "echo", Some("latest")).parse().unwrap();

    emulator.inject(FaultRule::once(Fault::error(
        429,
        "FSS.0429",
        "Too many concurrent requests",
    )));
    let out = client
        .invoke(&urn)
        .json(&json!({ "secret": PAYLOAD_MARKER }))
        .log_tail(true)
        .send()
        .await
        .unwrap();

    let spans = capture.invoke_spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let span = &spans[0];
    assert_eq!(span["function"], "default/echo");
    assert_eq!(span["qualifier"], "latest");
    assert_eq!(span["mode"], "sync");
    assert_eq!(span["attempt"], "2", "the throttled first attempt was retried");
    assert_eq!(span["status"], "200");
    assert_eq!(span["request_id"], out.request_id().unwrap());
    assert_eq!(span["function_error"], "false");
    assert!(span["duration_ms"].parse::<f64>().unwrap() >= 0.0);
    assert!(span["billing_duration_ms"].parse::<f64>().unwrap() >= 1.0);

    let everything = capture.everything();
    assert!(everything.contains("retrying"), "the retry is an event: {everything}");
    for secret in [TOKEN, PAYLOAD_MARKER, emulator.project_id()] {
        assert!(!everything.contains(secret), "{secret} leaked into: {everything}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_invoke_records_the_error_and_status() {
    let capture = Arc::new(Capture::default());
    let _guard = tracing::subscriber::set_default(Arc::clone(&capture));
    let emulator = Emulator::builder().token(TOKEN).start().await.unwrap();
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .build()
        .unwrap();
    let urn: FunctionUrn = emulator.urn("default", "missing", None).parse().unwrap();
    let err = client.invoke(&urn).send().await.unwrap_err();
    let span = &capture.invoke_spans()[0];
    assert_eq!(span["status"], "404");
    assert_eq!(span["error"], err.to_string());
    assert_eq!(span["request_id"], err.request_id().unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn the_full_urn_is_traced_only_when_asked() {
    let capture = Arc::new(Capture::default());
    let _guard = tracing::subscriber::set_default(Arc::clone(&capture));
    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap();
    let urn: fgs::FunctionUrn = emulator.urn("default", "echo", None).parse().unwrap();
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .trace_full_urn(true)
        .build()
        .unwrap();
    client.invoke(&urn).send().await.unwrap();
    let span = &capture.invoke_spans()[0];
    assert_eq!(span["urn"], urn.as_str());
}
