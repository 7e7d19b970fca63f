//! The library's front door, end to end against the emulator: configuration from the
//! environment (a lookup and a credentials file, never the process environment, which
//! parallel tests share), project-id discovery through IAM, calls by URN, reference or
//! text, and spawned calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use fgs::{ClientBuilder, Error, Execution, FunctionRef, FunctionUrn};
use fgs_emulator::{Emulator, EmulatorBuilder, Fault, FaultRule, Function, Handler};
use serde_json::json;

const AK: &str = "AKFRONTDOOR000000001";
const SK: &str = "SKfrontDoor0123456789abcdefghijklmnopq";
const OTHER_PROJECT: &str = "fedcba9876543210fedcba9876543210";

fn echo() -> Function {
    Function::new("default", "echo", Handler::from_fn(|event, _| async move { Ok(event) })).alias("prod", "latest")
}

async fn start(builder: EmulatorBuilder) -> Emulator {
    builder.access_key(AK, SK).function(echo()).start().await.unwrap()
}

/// A builder reading `vars` as its environment.
fn from_vars(vars: &[(&str, String)]) -> ClientBuilder {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    ClientBuilder::from_lookup(move |name| vars.get(name).cloned())
}

/// AK/SK in the variables, both endpoints on the emulator, no project id.
fn aksk_vars(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        (fgs::config::REGION, emulator.region().to_owned()),
        (fgs::config::FUNCTIONGRAPH_ENDPOINT, emulator.endpoint()),
        (fgs::config::IAM_ENDPOINT, emulator.endpoint()),
        (fgs::config::ACCESS_KEY, AK.to_owned()),
        (fgs::config::SECRET_KEY, SK.to_owned()),
        // A credentials file that does not exist: the environment is the source.
        (fgs::config::CREDENTIALS_FILE, "/nonexistent/fgs-front-door".to_owned()),
    ]
}

fn project_lookups(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/projects"))
        .count()
}

#[tokio::test]
async fn the_project_id_is_discovered_once_and_kept() {
    let emulator = start(Emulator::builder()).await;
    let client = from_vars(&aksk_vars(&emulator)).build().unwrap();
    assert_eq!(client.project_id(), None, "nothing is asked before a call needs it");

    let out = client
        .invoke("default/echo")
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(out.result_json::<serde_json::Value>().unwrap(), json!({"n": 1}));
    assert_eq!(client.project_id(), Some(emulator.project_id()));
    // Clones share what was found; later calls do not ask again.
    let clone = client.clone();
    clone.invoke("default/echo:!prod").send().await.unwrap();
    assert_eq!(project_lookups(&emulator), 1);
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
    // The lookup is AK/SK-signed, like the official SDKs' (the emulator verified it).
    let lookup = emulator
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/v3/projects"))
        .unwrap();
    assert!(lookup.headers.contains_key("authorization"));
    assert_eq!(lookup.path, format!("/v3/projects?name={}", emulator.region()));
}

#[tokio::test]
async fn no_project_or_several_is_a_configuration_error_that_says_how_to_fix_it() {
    for (builder, why) in [
        (Emulator::builder().no_iam_projects(), "no project named"),
        (
            Emulator::builder().iam_project("cn-north-4", OTHER_PROJECT),
            "2 projects named cn-north-4",
        ),
    ] {
        let emulator = start(builder.region("cn-north-4")).await;
        let client = from_vars(&aksk_vars(&emulator)).build().unwrap();
        let err = client.invoke("default/echo").send().await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(why), "{message}");
        assert!(message.contains("region cn-north-4"), "{message}");
        assert!(message.contains("HUAWEICLOUD_SDK_PROJECT_ID"), "{message}");
        assert_eq!(err.execution(), Execution::NotRun);
        assert_eq!(emulator.invocation_count("default", "echo"), 0);
        // A failure is not kept: the next call asks again.
        client.invoke("default/echo").send().await.unwrap_err();
        assert_eq!(project_lookups(&emulator), 2);
    }
}

#[tokio::test]
async fn iam_unreachable_or_failing_is_a_clear_error() {
    let emulator = start(Emulator::builder()).await;
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut vars = aksk_vars(&emulator);
    vars.retain(|(k, _)| *k != fgs::config::IAM_ENDPOINT);
    vars.push((fgs::config::IAM_ENDPOINT, closed.clone()));
    let err = from_vars(&vars)
        .build()
        .unwrap()
        .invoke("default/echo")
        .send()
        .await
        .unwrap_err();
    let message = format!("{err}");
    assert!(
        message.contains(&format!("IAM at {closed}/ did not answer")) || message.contains(&closed),
        "{message}"
    );
    assert!(message.contains("HUAWEICLOUD_SDK_PROJECT_ID"), "{message}");

    emulator.inject(FaultRule::always(Fault::error(503, "SYS.0503", "IAM is down")).for_iam());
    let err = from_vars(&aksk_vars(&emulator))
        .build()
        .unwrap()
        .invoke("default/echo")
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("answered HTTP 503"), "{err}");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn the_project_id_in_the_credentials_file_is_used_before_asking_iam() {
    let emulator = start(Emulator::builder()).await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("front-door-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        format!(
            "[basic]\nak = {AK}\nsk = {SK}\nproject_id = {}\n",
            emulator.project_id()
        ),
    )
    .unwrap();
    let vars = vec![
        (fgs::config::REGION, emulator.region().to_owned()),
        (fgs::config::FUNCTIONGRAPH_ENDPOINT, emulator.endpoint()),
        (fgs::config::IAM_ENDPOINT, emulator.endpoint()),
        (fgs::config::CREDENTIALS_FILE, file.display().to_string()),
    ];
    let client = from_vars(&vars).build().unwrap();
    client.invoke("default/echo").send().await.unwrap();
    assert_eq!(project_lookups(&emulator), 0);
    assert_eq!(client.project_id(), Some(emulator.project_id()));
}

#[tokio::test]
async fn a_project_id_variable_and_a_token_need_no_lookup() {
    let emulator = Emulator::builder()
        .token("tok-front")
        .function(echo())
        .start()
        .await
        .unwrap();
    let client = from_vars(&[
        (fgs::config::REGION, emulator.region().to_owned()),
        (fgs::config::FUNCTIONGRAPH_ENDPOINT, emulator.endpoint()),
        (fgs::config::PROJECT_ID, emulator.project_id().to_owned()),
        (fgs::config::IAM_TOKEN, "tok-front".to_owned()),
    ])
    .build()
    .unwrap();
    client.invoke("default/echo").send().await.unwrap();
    assert_eq!(project_lookups(&emulator), 0);
    assert!(!format!("{client:?}").contains("tok-front"));
}

#[tokio::test]
async fn missing_credentials_are_reported_by_the_first_call_listing_every_source() {
    let emulator = start(Emulator::builder()).await;
    let mut vars = aksk_vars(&emulator);
    vars.retain(|(k, _)| *k != fgs::config::ACCESS_KEY && *k != fgs::config::SECRET_KEY);
    vars.push((fgs::config::PROJECT_ID, emulator.project_id().to_owned()));
    let err = from_vars(&vars)
        .build()
        .unwrap()
        .invoke("default/echo")
        .send()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    assert!(message.contains("HUAWEICLOUD_SDK_AK"), "{message}");
    assert!(message.contains("metadata: not enabled"), "{message}");
    assert_eq!(emulator.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn invoke_takes_a_urn_a_reference_or_text_and_refuses_bad_text_before_sending() {
    let emulator = start(Emulator::builder()).await;
    let client = from_vars(&aksk_vars(&emulator))
        .project_id(emulator.project_id())
        .build()
        .unwrap();
    let urn: FunctionUrn = emulator.urn("default", "echo", None).parse().unwrap();
    let function = FunctionRef::parse("default/echo:!prod").unwrap();
    client.invoke(&urn).send().await.unwrap();
    client.invoke(urn.clone()).send().await.unwrap();
    client.invoke(&function).send().await.unwrap();
    client.invoke(urn.as_str()).send().await.unwrap();
    client.invoke(String::from("default/echo")).send().await.unwrap();
    assert_eq!(emulator.invocation_count("default", "echo"), 5);

    let before = emulator.request_count();
    for bad in ["default/9echo", "urn:fss:cn-north-4:p:function", "echo"] {
        let err = client.invoke(bad).send().await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err:?}");
        assert_eq!(err.execution(), Execution::NotRun);
    }
    assert_eq!(emulator.request_count(), before, "nothing was sent");
}

#[tokio::test]
async fn calls_can_be_spawned() {
    let emulator = start(Emulator::builder()).await;
    let client = from_vars(&aksk_vars(&emulator)).build().unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|n| tokio::spawn(client.invoke("default/echo").json(&json!({ "n": n })).send()))
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        let out = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(out.result_json::<serde_json::Value>().unwrap(), json!({ "n": n }));
    }
    // Sixteen calls raced for the project id: one lookup.
    assert_eq!(project_lookups(&emulator), 1);
    drop(client);
}

#[test]
fn the_readme_has_the_same_variable_table_as_the_library_docs() {
    let table = include_str!("../../fgs-core/src/environment.md");
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(table.trim()),
        "README.md must contain crates/fgs-core/src/environment.md verbatim"
    );
}
