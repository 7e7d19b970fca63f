//! The official SDKs' credential sources of workloads, end to end over real TCP on
//! 127.0.0.1 against the emulator's IAM, STS and pod identity endpoints: an agency
//! assumed with an OIDC ID token (`HUAWEICLOUD_OIDC_*`), a federated identity
//! (`HUAWEICLOUD_SDK_IDP_ID` with `HUAWEICLOUD_SDK_ID_TOKEN_FILE`, or `idp_id` with
//! `id_token_file` in the credentials file), a CCE pod identity (`HC_CONTAINER_*`), each
//! configured from variables (`ClientBuilder::from_lookup`,
//! never the process environment) and invoking a function with the temporary keys it
//! got; renewal under 16 concurrent calls (a `ManualClock` decides when, so nothing races
//! the wall clock); failures (token files missing, empty or too large, refusals, garbage,
//! missing fields, oversized answers); the chain's error naming every source; and no
//! secret in any `Debug`, `Display` or error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use fgs::auth::{
    AkSkAuth, AuthErrorKind, Credentials, FederatedCredentials, ManualClock, OidcStsCredentials,
    PodIdentityCredentials, ProvideCredentials,
};
use fgs::{Client, ClientBuilder};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use serde_json::json;

const PROVIDER: &str = "iam::0123456789:identity-provider:ci-oidc";
const AGENCY: &str = "iam::0123456789:agency:deployer";
const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.ID-TOKEN-SECRET.signature";
const POD_TOKEN: &str = "POD-AUTHORIZATION-SECRET";
const STS_PATH: &str = "/v5/agencies/assume-with-oidc";
const POD_PATH: &str = "/v1/pod-identity/credentials";
const IDP: &str = "corp-idp";
const FEDERATED_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.FEDERATED-SECRET.signature";
const ID_TOKEN_PATH: &str = "/v3.0/OS-AUTH/id-token/tokens";
const SECURITY_TOKENS_PATH: &str = "/v3.0/OS-CREDENTIAL/securitytokens";

async fn emulator() -> Emulator {
    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    Emulator::builder()
        .oidc_agency(PROVIDER, AGENCY, ID_TOKEN)
        .pod_identity(POD_TOKEN)
        .federated_identity(IDP, FEDERATED_TOKEN)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap()
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fgs-federation-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A file holding `contents` in a fresh directory.
fn token_file(test: &str, contents: &[u8]) -> PathBuf {
    let path = temp_dir(test).join("token");
    std::fs::write(&path, contents).unwrap();
    path
}

/// Variables pointing the client at `emulator`, with no keys and no credentials file,
/// plus `extra`.
fn variables(emulator: &Emulator, test: &str, extra: &[(&str, String)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("HUAWEICLOUD_SDK_REGION", "cn-north-4".to_owned()),
        ("HUAWEICLOUD_SDK_PROJECT_ID", emulator.project_id().to_owned()),
        ("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint()),
        ("HUAWEICLOUD_SDK_IAM_ENDPOINT", emulator.endpoint()),
        ("HOME", temp_dir(&format!("{test}-home")).display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    vars
}

fn client(vars: HashMap<String, String>) -> Client {
    ClientBuilder::from_lookup(move |name| vars.get(name).cloned())
        .build()
        .unwrap()
}

fn oidc_variables(emulator: &Emulator, test: &str, token_path: &std::path::Path) -> HashMap<String, String> {
    variables(
        emulator,
        test,
        &[
            ("HUAWEICLOUD_OIDC_PROVIDER_URN", PROVIDER.to_owned()),
            ("HUAWEICLOUD_OIDC_AGENCY_URN", AGENCY.to_owned()),
            ("HUAWEICLOUD_OIDC_TOKEN_FILE", token_path.display().to_string()),
            ("HUAWEICLOUD_SDK_STS_ENDPOINT", emulator.endpoint()),
        ],
    )
}

fn pod_variables(emulator: &Emulator, test: &str, token_path: &std::path::Path) -> HashMap<String, String> {
    variables(
        emulator,
        test,
        &[
            ("HC_CONTAINER_CREDENTIALS_FULL_URI", emulator.pod_identity_uri()),
            (
                "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_path.display().to_string(),
            ),
        ],
    )
}

fn requests_to(emulator: &Emulator, path: &str) -> usize {
    emulator.requests().iter().filter(|r| r.path == path).count()
}

/// The access key of the last invocation's signature.
fn last_access_key(emulator: &Emulator) -> String {
    let invocations = emulator.invocations();
    let headers = &invocations.last().expect("an invocation").headers;
    let authorization = headers["authorization"].to_str().unwrap();
    assert!(headers.contains_key("x-security-token"), "{headers:?}");
    authorization
        .strip_prefix("SDK-HMAC-SHA256 Access=")
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .to_owned()
}

async fn invoke_echo(client: &Client, n: u32) {
    let output = client
        .invoke("default/echo")
        .json(&json!({ "n": n }))
        .send()
        .await
        .unwrap();
    assert_eq!(output.result_json::<serde_json::Value>().unwrap(), json!({ "n": n }));
}

#[tokio::test]
async fn oidc_from_the_environment_invokes_with_the_agencys_keys() {
    let emulator = emulator().await;
    let path = token_file("oidc-env", format!("{ID_TOKEN}\n").as_bytes());
    let client = client(oidc_variables(&emulator, "oidc-env", &path));
    for n in 0..3 {
        invoke_echo(&client, n).await;
    }
    assert!(last_access_key(&emulator).starts_with("TMPAK"));
    assert_eq!(requests_to(&emulator, STS_PATH), 1, "the credentials are kept");
    let sts = emulator.requests().into_iter().find(|r| r.path == STS_PATH).unwrap();
    assert_eq!(sts.method, "POST");
    assert_eq!(sts.headers["content-type"], "application/json;charset=UTF-8");
    assert!(
        !sts.headers.contains_key("authorization"),
        "STS's request is not signed"
    );
}

#[tokio::test]
async fn oidc_with_the_token_in_a_variable_and_every_setting() {
    let emulator = emulator().await;
    let mut vars = variables(
        &emulator,
        "oidc-value",
        &[
            ("HUAWEICLOUD_OIDC_PROVIDER_URN", PROVIDER.to_owned()),
            ("HUAWEICLOUD_OIDC_AGENCY_URN", AGENCY.to_owned()),
            ("HUAWEICLOUD_OIDC_ID_TOKEN", ID_TOKEN.to_owned()),
            ("HUAWEICLOUD_OIDC_SESSION_NAME", "deploy-42".to_owned()),
            ("HUAWEICLOUD_OIDC_DURATION_SECONDS", "900".to_owned()),
            (
                "HUAWEICLOUD_OIDC_POLICY",
                r#"{"Version":"5.0","Statement":[]}"#.to_owned(),
            ),
            ("HUAWEICLOUD_OIDC_POLICY_IDS", "p1,p2".to_owned()),
            ("HUAWEICLOUD_SDK_STS_ENDPOINT", emulator.endpoint()),
        ],
    );
    // OIDC comes before keys in the environment, as in the official SDKs.
    vars.insert("HUAWEICLOUD_SDK_AK".into(), "AK-NOT-USED".into());
    vars.insert("HUAWEICLOUD_SDK_SK".into(), "SK-NOT-USED".into());
    invoke_echo(&client(vars), 1).await;
    assert!(last_access_key(&emulator).starts_with("TMPAK"));
}

#[tokio::test]
async fn pod_identity_from_the_environment_invokes_with_its_keys() {
    let emulator = emulator().await;
    let path = token_file("pod-env", format!("  {POD_TOKEN}\n").as_bytes());
    let client = client(pod_variables(&emulator, "pod-env", &path));
    for n in 0..3 {
        invoke_echo(&client, n).await;
    }
    assert!(last_access_key(&emulator).starts_with("TMPAK"));
    assert_eq!(requests_to(&emulator, POD_PATH), 1);
    let pod = emulator.requests().into_iter().find(|r| r.path == POD_PATH).unwrap();
    assert_eq!(pod.method, "POST");
    assert!(
        pod.headers["authorization"].is_sensitive(),
        "recorded, but marked sensitive"
    );
}

/// A source under test and how to count its requests.
async fn renews_under_16_concurrent_calls(
    emulator: &Emulator,
    source: impl ProvideCredentials + 'static,
    clock: &ManualClock,
    path: &str,
) {
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .project_id(emulator.project_id())
        .region("cn-north-4")
        .auth(AkSkAuth::new(source))
        .build()
        .unwrap();
    // 16 callers without credentials share one fetch.
    let calls = (0..16).map(|n| {
        let client = client.clone();
        tokio::spawn(async move { invoke_echo(&client, n).await })
    });
    for call in calls {
        call.await.unwrap();
    }
    assert_eq!(requests_to(emulator, path), 1, "one fetch for 16 callers");
    let first = last_access_key(emulator);

    // Inside the refresh window (10 minutes before the hour is up): every caller goes on
    // at once with the valid keys while one renewal runs in the background. (The keys
    // are valid for the emulator, which goes by the wall clock.)
    clock.advance(Duration::from_secs(51 * 60));
    let calls = (0..16).map(|n| {
        let client = client.clone();
        tokio::spawn(async move { invoke_echo(&client, n).await })
    });
    for call in calls {
        call.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        invoke_echo(&client, 99).await;
        if last_access_key(emulator) != first {
            break;
        }
        assert!(Instant::now() < deadline, "the renewal never landed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(requests_to(emulator, path), 2, "one renewal for 16 callers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_credentials_renew_under_concurrent_calls() {
    let emulator = emulator().await;
    let path = token_file("oidc-renew", ID_TOKEN.as_bytes());
    let clock = ManualClock::new(SystemTime::now());
    let oidc = OidcStsCredentials::new(PROVIDER, AGENCY)
        .with_id_token_file(&path)
        .with_endpoint(emulator.endpoint())
        .with_clock(clock.clone());
    renews_under_16_concurrent_calls(&emulator, oidc, &clock, STS_PATH).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_identity_credentials_renew_under_concurrent_calls() {
    let emulator = emulator().await;
    let path = token_file("pod-renew", POD_TOKEN.as_bytes());
    let clock = ManualClock::new(SystemTime::now());
    let pod = PodIdentityCredentials::new(emulator.pod_identity_uri(), &path).with_clock(clock.clone());
    renews_under_16_concurrent_calls(&emulator, pod, &clock, POD_PATH).await;
}

#[tokio::test]
async fn the_token_file_is_read_again_at_each_renewal_and_a_failure_backs_off() {
    let emulator = emulator().await;
    let path = token_file("oidc-rotate", ID_TOKEN.as_bytes());
    let clock = ManualClock::new(SystemTime::now());
    let oidc = OidcStsCredentials::new(PROVIDER, AGENCY)
        .with_id_token_file(&path)
        .with_endpoint(emulator.endpoint())
        .with_clock(clock.clone());
    let first = oidc.provide_credentials().await.unwrap();

    // The platform rotates the file to a token STS refuses: the renewal fails, the valid
    // keys stay in use, and no caller retries before the backoff.
    std::fs::write(&path, "a-token-sts-refuses").unwrap();
    clock.advance(Duration::from_secs(55 * 60));
    for _ in 0..5 {
        assert_eq!(
            oidc.provide_credentials().await.unwrap().access_key(),
            first.access_key()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        requests_to(&emulator, STS_PATH),
        2,
        "one failed renewal, then a backoff"
    );

    // A good token again, and the backoff (at most 5 s for the first failure) over.
    std::fs::write(&path, ID_TOKEN).unwrap();
    clock.advance(Duration::from_secs(6));
    let deadline = Instant::now() + Duration::from_secs(10);
    while oidc.provide_credentials().await.unwrap().access_key() == first.access_key() {
        assert!(Instant::now() < deadline, "no renewal after the backoff");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(requests_to(&emulator, STS_PATH), 3);
}

fn oidc(emulator: &Emulator, path: &std::path::Path) -> OidcStsCredentials {
    OidcStsCredentials::new(PROVIDER, AGENCY)
        .with_id_token_file(path)
        .with_endpoint(emulator.endpoint())
}

#[tokio::test]
async fn token_file_problems_are_errors_before_anything_is_sent() {
    let emulator = emulator().await;
    let dir = temp_dir("oidc-files");
    let missing = dir.join("missing");
    let err = oidc(&emulator, &missing).provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Missing);
    assert_eq!(
        err.to_string(),
        format!("the OIDC ID token file {} does not exist", missing.display())
    );

    let empty = token_file("oidc-empty", b"\n \n");
    let err = oidc(&emulator, &empty).provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Invalid);
    assert_eq!(
        err.to_string(),
        format!("the OIDC ID token file {} is empty", empty.display())
    );

    let big = token_file("oidc-big", &vec![b'x'; 64 * 1024 + 1]);
    let err = oidc(&emulator, &big).provide_credentials().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the OIDC ID token file {} is larger than 65536 bytes, which is too large for a token",
            big.display()
        )
    );

    let pod_missing = PodIdentityCredentials::new(emulator.pod_identity_uri(), &missing)
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(
        pod_missing.to_string(),
        format!("the pod identity token file {} does not exist", missing.display())
    );
    assert_eq!(emulator.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn refusals_and_bad_answers_are_provider_errors() {
    let emulator = emulator().await;
    let good = token_file("oidc-bad-answers", ID_TOKEN.as_bytes());

    let wrong = token_file("oidc-wrong", b"WRONG-ID-TOKEN");
    let err = oidc(&emulator, &wrong).provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Provider);
    assert_eq!(
        err.to_string(),
        format!(
            "STS at {}/ refused to assume the agency with the OIDC token: HTTP 403: \
             The ID token does not allow assuming this agency through this provider.",
            emulator.endpoint()
        )
    );
    assert!(!format!("{err:?}").contains("WRONG-ID-TOKEN"));

    let cases: [(Fault, &str); 4] = [
        (
            Fault::error(500, "STS.0500", "internal error"),
            "refused to assume the agency with the OIDC token: HTTP 500",
        ),
        (
            Fault::response(200, vec![], "<html>proxy</html>"),
            "is not JSON (line 1, column 1)",
        ),
        (
            Fault::response(
                200,
                vec![],
                r#"{"credentials":{"access_key_id":"AK","secret_access_key":"SECRET-IN-ANSWER","expiration":"2030-01-01T00:00:00Z"}}"#,
            ),
            "has no securitytoken",
        ),
        (
            Fault::response(200, vec![], vec![b' '; 64 * 1024 + 1]),
            "is larger than the 65536 bytes read for it",
        ),
    ];
    for (fault, expected) in cases {
        emulator.inject(FaultRule::once(fault).for_sts());
        let err = oidc(&emulator, &good).provide_credentials().await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Provider);
        let text = format!("{:#}", anyhow::Error::from(err));
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains("SECRET-IN-ANSWER") && !text.contains(ID_TOKEN), "{text}");
    }

    let wrong_pod = token_file("pod-wrong", b"WRONG-POD-TOKEN");
    let err = PodIdentityCredentials::new(emulator.pod_identity_uri(), &wrong_pod)
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the pod identity endpoint {} answered HTTP 401: a valid Authorization token is required",
            emulator.pod_identity_uri()
        )
    );
    let pod_good = token_file("pod-good", POD_TOKEN.as_bytes());
    emulator.inject(FaultRule::once(Fault::response(200, vec![], "{}")).for_pod_identity());
    let err = PodIdentityCredentials::new(emulator.pod_identity_uri(), &pod_good)
        .provide_credentials()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("has no access, secret, securitytoken, expires_at"),
        "{err}"
    );
}

#[tokio::test]
async fn the_chain_error_lists_every_source_and_why() {
    let emulator = emulator().await;
    let wrong = token_file("chain-wrong", b"WRONG-ID-TOKEN");
    let home = temp_dir("chain-home");
    let mut vars = oidc_variables(&emulator, "chain", &wrong);
    vars.insert("HC_CONTAINER_CREDENTIALS_FULL_URI".into(), emulator.pod_identity_uri());
    vars.insert("HOME".into(), home.display().to_string());
    let err = client(vars).invoke("default/echo").send().await.unwrap_err();
    let text = err.to_string();
    let expected = format!(
        "no credentials found: oidc-sts: STS at {endpoint}/ refused to assume the agency with the OIDC token: \
         HTTP 403: The ID token does not allow assuming this agency through this provider.; \
         environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set; \
         profile: {home}/.huaweicloud/credentials does not exist; metadata: not enabled; \
         pod-identity: HC_CONTAINER_AUTHORIZATION_TOKEN_FILE is not set",
        endpoint = emulator.endpoint(),
        home = home.display()
    );
    assert!(text.contains(&expected), "{text}");
    assert!(!text.contains("WRONG-ID-TOKEN"));
    assert_eq!(
        requests_to(&emulator, POD_PATH),
        0,
        "a source without its token is not asked"
    );
}

#[tokio::test]
async fn unset_variables_leave_the_sources_out() {
    let emulator = emulator().await;
    let vars = variables(&emulator, "unset", &[]);
    let err = client(vars).invoke("default/echo").send().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("oidc-sts: not enabled; environment: "), "{text}");
    assert!(
        text.contains("metadata: not enabled; pod-identity: not enabled"),
        "{text}"
    );
    assert_eq!(emulator.request_count(), 0, "nothing was contacted");
}

#[tokio::test]
async fn no_secret_in_debug_display_or_errors() {
    let emulator = emulator().await;
    let path = token_file("secrets", ID_TOKEN.as_bytes());
    let oidc = OidcStsCredentials::new(PROVIDER, AGENCY)
        .with_id_token(ID_TOKEN)
        .with_endpoint(emulator.endpoint());
    let credentials = oidc.provide_credentials().await.unwrap();
    let pod_path = token_file("secrets-pod", POD_TOKEN.as_bytes());
    let pod = PodIdentityCredentials::new(emulator.pod_identity_uri(), &pod_path);
    let pod_credentials = pod.provide_credentials().await.unwrap();
    let client = client(oidc_variables(&emulator, "secrets", &path));
    invoke_echo(&client, 1).await;
    let shown = format!("{oidc:?} {pod:?} {credentials:?} {pod_credentials:?} {client:?}");
    for secret in [
        ID_TOKEN,
        POD_TOKEN,
        credentials.secret_key().expose(),
        credentials.security_token().unwrap().expose(),
        pod_credentials.secret_key().expose(),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn a_federated_identity_from_the_environment_invokes_with_keys_from_iam() {
    let emulator = emulator().await;
    let path = token_file("federated-env", format!("{FEDERATED_TOKEN}\n").as_bytes());
    let vars = variables(
        &emulator,
        "federated-env",
        &[
            ("HUAWEICLOUD_SDK_IDP_ID", IDP.to_owned()),
            ("HUAWEICLOUD_SDK_ID_TOKEN_FILE", path.display().to_string()),
            // The federated identity wins over keys, as in the official SDKs.
            ("HUAWEICLOUD_SDK_AK", "AK-NOT-USED".to_owned()),
            ("HUAWEICLOUD_SDK_SK", "SK-NOT-USED".to_owned()),
        ],
    );
    let client = client(vars);
    for n in 0..3 {
        invoke_echo(&client, n).await;
    }
    assert!(last_access_key(&emulator).starts_with("TMPAK"));
    let requests = emulator.requests();
    let exchange: Vec<_> = requests.iter().filter(|r| r.path == ID_TOKEN_PATH).collect();
    let keys: Vec<_> = requests.iter().filter(|r| r.path == SECURITY_TOKENS_PATH).collect();
    assert_eq!((exchange.len(), keys.len()), (1, 1), "the keys are kept");
    assert_eq!(exchange[0].headers["x-idp-id"], IDP);
    assert_eq!(exchange[0].headers["content-type"], "application/json;charset=UTF-8");
    assert!(
        !keys[0].headers.contains_key("x-auth-token"),
        "the token travels in the body, as the official SDKs send it"
    );
}

#[tokio::test]
async fn a_federated_identity_from_the_credentials_file() {
    let emulator = emulator().await;
    let token = token_file("federated-file-token", FEDERATED_TOKEN.as_bytes());
    let dir = temp_dir("federated-file");
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[basic]\nidp_id = {IDP}\nid_token_file = {}\niam_endpoint = {}\n",
            token.display(),
            emulator.endpoint()
        ),
    )
    .unwrap();
    // A closed port as the environment's IAM: the file's iam_endpoint wins.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut vars = variables(
        &emulator,
        "federated-file",
        &[("HUAWEICLOUD_SDK_CREDENTIALS_FILE", credentials.display().to_string())],
    );
    vars.insert(
        "HUAWEICLOUD_SDK_IAM_ENDPOINT".into(),
        format!("http://{}", closed.local_addr().unwrap()),
    );
    invoke_echo(&client(vars), 1).await;
    assert!(last_access_key(&emulator).starts_with("TMPAK"));
    assert_eq!(requests_to(&emulator, SECURITY_TOKENS_PATH), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_credentials_renew_under_concurrent_calls() {
    let emulator = Emulator::builder()
        .federated_identity(IDP, FEDERATED_TOKEN)
        // An hour, like the other sources (the official SDKs ask for six).
        .temporary_credentials_lifetime(Duration::from_secs(3600))
        .function(Function::new(
            "default",
            "echo",
            Handler::from_fn(|event, _| async move { Ok(event) }),
        ))
        .start()
        .await
        .unwrap();
    let path = token_file("federated-renew", FEDERATED_TOKEN.as_bytes());
    let clock = ManualClock::new(SystemTime::now());
    let federated = FederatedCredentials::new(IDP, &path)
        .with_iam_endpoint(emulator.endpoint())
        .with_clock(clock.clone());
    renews_under_16_concurrent_calls(&emulator, federated, &clock, SECURITY_TOKENS_PATH).await;
    assert_eq!(
        requests_to(&emulator, ID_TOKEN_PATH),
        2,
        "an ID token exchange per fetch"
    );
}

#[tokio::test]
async fn federated_failures_are_provider_errors_without_secrets() {
    let emulator = emulator().await;
    let federated =
        |path: &std::path::Path| FederatedCredentials::new(IDP, path).with_iam_endpoint(emulator.endpoint());

    let wrong = token_file("federated-wrong", b"WRONG-FEDERATED-TOKEN");
    let err = federated(&wrong).provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Provider);
    assert_eq!(
        err.to_string(),
        format!(
            "IAM at {}/ refused the ID token of identity provider {IDP}: HTTP 401: \
             The ID token is not valid for this identity provider.",
            emulator.endpoint()
        )
    );
    assert_eq!(requests_to(&emulator, SECURITY_TOKENS_PATH), 0);

    let missing = temp_dir("federated-missing").join("token");
    let err = federated(&missing).provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Missing);

    let good = token_file("federated-good", FEDERATED_TOKEN.as_bytes());
    // No token in IAM's answer.
    emulator.inject(FaultRule::once(Fault::response(201, vec![], "{}")).for_iam());
    let err = federated(&good).provide_credentials().await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("but without an X-Subject-Token header (the token)"),
        "{err}"
    );
    // The exchange goes through (a zero latency uses up the first rule), the keys answer
    // is garbage, then refused.
    let cases: [(Fault, &str); 3] = [
        (Fault::response(201, vec![], "not json"), "is not JSON"),
        (
            Fault::response(
                201,
                vec![],
                r#"{"credential":{"access":"AK","secret":"SECRET-IN-ANSWER"}}"#,
            ),
            "has no securitytoken, expires_at",
        ),
        (
            Fault::error(403, "IAM.0001", "denied"),
            "refused temporary keys for the federated token: HTTP 403",
        ),
    ];
    for (fault, expected) in cases {
        emulator.inject(FaultRule::once(Fault::Latency(Duration::ZERO)).for_iam());
        emulator.inject(FaultRule::once(fault).for_iam());
        let err = federated(&good).provide_credentials().await.unwrap_err();
        let text = format!("{:#}", anyhow::Error::from(err));
        assert!(text.contains(expected), "{text}");
        for secret in ["SECRET-IN-ANSWER", FEDERATED_TOKEN, "MIIemu"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    let shown = format!("{:?}", federated(&good));
    assert!(!shown.contains(FEDERATED_TOKEN), "{shown}");
}

#[tokio::test]
async fn expired_keys_are_refused_and_the_source_gets_new_ones() {
    // Keys that live two seconds: the emulator refuses them once expired, and the source
    // (on the system clock) renews them halfway, or fetches new ones once they expired.
    let emulator = Emulator::builder()
        .pod_identity(POD_TOKEN)
        .temporary_credentials_lifetime(Duration::from_secs(2))
        .function(Function::new(
            "default",
            "echo",
            Handler::from_fn(|event, _| async move { Ok(event) }),
        ))
        .start()
        .await
        .unwrap();
    let path = token_file("pod-expiry", POD_TOKEN.as_bytes());
    let pod = PodIdentityCredentials::new(emulator.pod_identity_uri(), &path);
    let first = pod.provide_credentials().await.unwrap();
    let client = |auth: AkSkAuth| {
        Client::builder()
            .endpoint_url(emulator.endpoint())
            .project_id(emulator.project_id())
            .region("cn-north-4")
            .auth(auth)
            .build()
            .unwrap()
    };
    let kept = Credentials::temporary(
        first.access_key(),
        first.secret_key().clone(),
        first.security_token().unwrap().clone(),
        None,
    );
    invoke_echo(&client(AkSkAuth::new(kept.clone())), 1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let err = client(AkSkAuth::new(kept))
        .invoke("default/echo")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::UNAUTHORIZED), "{err}");
    invoke_echo(&client(AkSkAuth::new(pod)), 2).await;
    assert_ne!(last_access_key(&emulator), first.access_key());
    assert_eq!(requests_to(&emulator, POD_PATH), 2);
}

#[tokio::test]
async fn without_a_project_id_the_agencys_keys_look_it_up_at_iam() {
    let emulator = emulator().await;
    let path = token_file("oidc-project", ID_TOKEN.as_bytes());
    let mut vars = oidc_variables(&emulator, "oidc-project", &path);
    vars.remove("HUAWEICLOUD_SDK_PROJECT_ID");
    invoke_echo(&client(vars), 1).await;
    let lookup = emulator
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/v3/projects"))
        .expect("a project lookup");
    assert!(
        lookup.headers.contains_key("x-security-token"),
        "signed with the temporary keys"
    );
}

#[tokio::test]
async fn a_service_that_never_answers_is_a_timeout_error() {
    // Bound and listening, but never accepted: a connection waits in the backlog and no
    // answer comes. The listener is held for the whole test.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let err = OidcStsCredentials::new(PROVIDER, AGENCY)
        .with_id_token(ID_TOKEN)
        .with_endpoint(&endpoint)
        .with_timeout(Duration::from_millis(300))
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Provider);
    assert_eq!(
        err.to_string(),
        format!("STS at {endpoint}/ did not answer POST /v5/agencies/assume-with-oidc within 300 ms")
    );
    drop(silent);
}
