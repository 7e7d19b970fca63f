//! IAM's project lookup, `GET /v3/projects?name={region}`: what the official SDKs ask
//! when given AK/SK and a region but no project id. One project by default (the region's,
//! with the emulator's project id), none, several, the exact `name` filter, the
//! credentials it needs, fault rules for IAM, and the records it leaves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use fgs_emulator::{Emulator, EmulatorBuilder, Fault, FaultRule};
use http::Method;
use serde_json::{Value, json};

const AK: &str = "AKPROJECTLOOKUP01";
const SK: &str = "sk-project-lookup-secret";

fn builder() -> EmulatorBuilder {
    Emulator::builder().token(TOKEN).access_key(AK, SK)
}

/// `GET path` signed with [`AK`]/[`SK`].
async fn lookup(emulator: &Emulator, path: &str) -> Response {
    lookup_signed_by(emulator, path, SK).await
}

async fn lookup_signed_by(emulator: &Emulator, path: &str, secret: &str) -> Response {
    let headers = Signer::new(AK, secret).headers_for(&Method::GET, emulator, path, b"");
    send(emulator.addr(), &request_owned("GET", path, &headers, b"")).await
}

/// The body of a 200 answer, checked for IAM's list shape.
fn project_list(response: &Response) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert!(response.header("x-iam-trace-id").is_some_and(|id| !id.is_empty()));
    let body = response.json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["links", "projects"], "{body}");
    assert!(
        body["links"]["self"].as_str().unwrap().contains("/v3/projects"),
        "{body}"
    );
    assert_eq!(body["links"]["previous"], Value::Null, "{body}");
    assert_eq!(body["links"]["next"], Value::Null, "{body}");
    body
}

/// `(name, id)` of each listed project, in order.
fn names_and_ids(body: &Value) -> Vec<(String, String)> {
    body["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn is_hex32(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn by_default_the_regions_project_is_listed_with_the_emulators_project_id() {
    let emulator = builder().start().await.unwrap();
    let response = lookup(&emulator, "/v3/projects?name=cn-north-4").await;
    let body = project_list(&response);
    let projects = body["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1, "{body}");
    let project = &projects[0];
    let domain_id = project["domain_id"].as_str().unwrap();
    assert!(is_hex32(domain_id), "{body}");
    let addr = emulator.addr();
    assert_eq!(
        *project,
        json!({
            "id": emulator.project_id(),
            "name": "cn-north-4",
            "domain_id": domain_id,
            "parent_id": domain_id,
            "enabled": true,
            "is_domain": false,
            "description": "",
            "links": { "self": format!("http://{addr}/v3/projects/{}", emulator.project_id()) },
        })
    );
    assert_eq!(
        body["links"]["self"],
        format!("http://{addr}/v3/projects?name=cn-north-4")
    );
    // What an SDK reads: projects[0].id is the id invocations need.
    assert_eq!(body["projects"][0]["id"], "0123456789abcdef0123456789abcdef");
}

#[tokio::test]
async fn the_default_project_follows_the_configured_region_and_project_id() {
    let project_id = "fedcba9876543210fedcba9876543210";
    // Set in either order: the project is the one of the running emulator.
    for emulator in [
        builder().region("ap-southeast-1").project_id(project_id),
        builder().project_id(project_id).region("ap-southeast-1"),
    ] {
        let emulator = emulator.start().await.unwrap();
        let body = project_list(&lookup(&emulator, "/v3/projects?name=ap-southeast-1").await);
        assert_eq!(
            names_and_ids(&body),
            [("ap-southeast-1".to_owned(), project_id.to_owned())]
        );
        let body = project_list(&lookup(&emulator, "/v3/projects?name=cn-north-4").await);
        assert_eq!(body["projects"], json!([]));
    }
}

#[tokio::test]
async fn no_iam_projects_lists_none() {
    let emulator = builder()
        .iam_project("cn-east-3", "a".repeat(32))
        .no_iam_projects()
        .start()
        .await
        .unwrap();
    for path in [
        "/v3/projects?name=cn-north-4",
        "/v3/projects?name=cn-east-3",
        "/v3/projects",
    ] {
        let body = project_list(&lookup(&emulator, path).await);
        assert_eq!(body["projects"], json!([]), "{path}: {body}");
    }
    // Projects added after it are listed.
    let emulator = builder()
        .no_iam_projects()
        .iam_project("cn-east-3", "b".repeat(32))
        .start()
        .await
        .unwrap();
    let body = project_list(&lookup(&emulator, "/v3/projects").await);
    assert_eq!(names_and_ids(&body), [("cn-east-3".to_owned(), "b".repeat(32))]);
}

#[tokio::test]
async fn two_projects_with_the_regions_name_are_both_listed() {
    let other = "11112222333344445555666677778888";
    let emulator = builder().iam_project("cn-north-4", other).start().await.unwrap();
    let body = project_list(&lookup(&emulator, "/v3/projects?name=cn-north-4").await);
    assert_eq!(
        names_and_ids(&body),
        [
            ("cn-north-4".to_owned(), emulator.project_id().to_owned()),
            ("cn-north-4".to_owned(), other.to_owned()),
        ]
    );
    // Only the listing changes: invocations still carry the emulator's project id.
    assert_eq!(emulator.project_id(), fgs_emulator::DEFAULT_PROJECT_ID);
}

#[tokio::test]
async fn the_name_filter_is_exact() {
    let east = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    let sub = "5555555555555555555555555555555a";
    let emulator = builder()
        .iam_project("cn-east-3", east)
        .iam_project("cn-north-4_dev", sub)
        .start()
        .await
        .unwrap();
    let listed = |body: &Value| names_and_ids(body).into_iter().map(|(_, id)| id).collect::<Vec<_>>();

    let body = project_list(&lookup(&emulator, "/v3/projects?name=cn-east-3").await);
    assert_eq!(listed(&body), [east]);
    let body = project_list(&lookup(&emulator, "/v3/projects?name=cn-north-4_dev").await);
    assert_eq!(listed(&body), [sub]);
    // Percent-encoded names are decoded before comparing.
    let body = project_list(&lookup(&emulator, "/v3/projects?name=cn%2Deast%2D3").await);
    assert_eq!(listed(&body), [east]);
    // Not a prefix, not a substring, not case-insensitive; an empty name matches nothing.
    for name in ["cn-north", "north-4", "CN-NORTH-4", "cn-north-4 ", "cn-north-4_", ""] {
        let path = format!("/v3/projects?name={}", fgs_urn::encode_path_segment(name));
        let body = project_list(&lookup(&emulator, &path).await);
        assert_eq!(body["projects"], json!([]), "{name:?}: {body}");
    }
    // Without a name: every project, the emulator's own first. Other parameters are ignored.
    for path in [
        "/v3/projects",
        "/v3/projects?enabled=true",
        "/v3/projects?page=1&per_page=10",
    ] {
        let body = project_list(&lookup(&emulator, path).await);
        assert_eq!(listed(&body), [emulator.project_id(), east, sub], "{path}");
    }
    // A query that is not percent-encoded UTF-8 is IAM's 400.
    let response = lookup(&emulator, "/v3/projects?name=%ff").await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(response.json()["error"]["code"], 400);
}

#[tokio::test]
async fn a_bad_signature_is_401_apigw_0301() {
    let emulator = builder().start().await.unwrap();
    let path = "/v3/projects?name=cn-north-4";

    let body = assert_gateway_error(
        &lookup_signed_by(&emulator, path, "wrong-secret").await,
        401,
        "APIGW.0301",
    );
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("verify aksk signature fail"),
        "{body}"
    );
    assert!(body.get("projects").is_none(), "no project leaks: {body}");

    // The query is signed: changing the name after signing is refused.
    let headers = Signer::new(AK, SK).headers_for(&Method::GET, &emulator, path, b"");
    let tampered = "/v3/projects?name=cn-east-3";
    let response = send(emulator.addr(), &request_owned("GET", tampered, &headers, b"")).await;
    assert_gateway_error(&response, 401, "APIGW.0301");

    // Signed for another method.
    let headers = Signer::new(AK, SK).headers(&emulator, path, b"");
    let response = send(emulator.addr(), &request_owned("GET", path, &headers, b"")).await;
    assert_gateway_error(&response, 401, "APIGW.0301");

    // An unknown access key, and no credentials at all.
    let headers = Signer::new("AKUNKNOWN", SK).headers_for(&Method::GET, &emulator, path, b"");
    let response = send(emulator.addr(), &request_owned("GET", path, &headers, b"")).await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    let response = send(emulator.addr(), &request("GET", path, &[], b"")).await;
    assert_gateway_error(&response, 401, "APIGW.0301");

    // A clock 16 minutes off.
    let mut signer = Signer::new(AK, SK);
    signer.time = std::time::SystemTime::now() - Duration::from_secs(16 * 60);
    let headers = signer.headers_for(&Method::GET, &emulator, path, b"");
    let response = send(emulator.addr(), &request_owned("GET", path, &headers, b"")).await;
    assert_gateway_error(&response, 401, "APIGW.0303");
}

#[tokio::test]
async fn iam_tokens_and_temporary_keys_are_accepted_too() {
    let emulator = builder()
        .metadata_credentials(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let path = "/v3/projects?name=cn-north-4";
    for token in [TOKEN.to_owned(), emulator.issue_token()] {
        let response = send(emulator.addr(), &request("GET", path, &[("X-Auth-Token", &token)], b"")).await;
        assert_eq!(names_and_ids(&project_list(&response)).len(), 1);
    }
    let response = send(
        emulator.addr(),
        &request("GET", path, &[("X-Auth-Token", "MIIunknown")], b""),
    )
    .await;
    assert_gateway_error(&response, 401, "APIGW.0301");

    let (ak, sk, security_token) = emulator.issue_temporary_credentials(Duration::from_secs(600));
    let mut signer = Signer::new(&ak, &sk);
    signer.security_token = Some(&security_token);
    let headers = signer.headers_for(&Method::GET, &emulator, path, b"");
    let response = send(emulator.addr(), &request_owned("GET", path, &headers, b"")).await;
    assert_eq!(names_and_ids(&project_list(&response)).len(), 1);
}

#[tokio::test]
async fn without_auth_no_credentials_are_needed() {
    let emulator = Emulator::builder().without_auth().start().await.unwrap();
    let response = send(
        emulator.addr(),
        &request("GET", "/v3/projects?name=cn-north-4", &[], b""),
    )
    .await;
    assert_eq!(names_and_ids(&project_list(&response)).len(), 1);
}

#[tokio::test]
async fn only_get_on_the_exact_path_is_the_lookup() {
    let emulator = builder().start().await.unwrap();
    for (method, path) in [
        ("POST", "/v3/projects"),
        ("GET", "/v3/projects/"),
        ("GET", "/v3/projects/0123456789abcdef0123456789abcdef"),
        ("GET", "/v3/auth/projects"),
    ] {
        let response = send(emulator.addr(), &request(method, path, &[("X-Auth-Token", TOKEN)], b"")).await;
        assert_gateway_error(&response, 404, "APIGW.0101");
    }
}

#[tokio::test]
async fn iam_fault_rules_apply_to_the_lookup() {
    let emulator = builder().start().await.unwrap();
    let path = "/v3/projects?name=cn-north-4";

    // An error, once; then the lookup answers again.
    emulator.inject(FaultRule::once(Fault::error(503, "IAM.0001", "IAM is unavailable")).for_iam());
    let response = lookup(&emulator, path).await;
    assert_eq!(response.status, 503, "{}", response.text());
    assert_eq!(response.json()["error_code"], "IAM.0001");
    assert_eq!(names_and_ids(&project_list(&lookup(&emulator, path).await)).len(), 1);

    // A fault answers before credentials are checked, as an unreachable IAM would.
    emulator.inject(FaultRule::once(Fault::response(502, vec![], "<html>Bad Gateway</html>")).for_iam());
    let response = send(emulator.addr(), &request("GET", path, &[], b"")).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (502, "<html>Bad Gateway</html>")
    );

    // A dropped connection: no response at all.
    emulator.inject(FaultRule::once(Fault::DropBeforeRun).for_iam());
    let headers = Signer::new(AK, SK).headers_for(&Method::GET, &emulator, path, b"");
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&request_owned("GET", path, &headers, b"")).await;
    let rest = tokio::time::timeout(RESPONSE_TIMEOUT, conn.read_to_close())
        .await
        .unwrap();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));

    // Latency: the answer comes after it, and is the real one.
    let delay = Duration::from_millis(400);
    emulator.inject(FaultRule::once(Fault::Latency(delay)).for_iam());
    let (response, took) = timed(lookup(&emulator, path)).await;
    assert!(took >= delay, "{took:?}");
    assert_eq!(names_and_ids(&project_list(&response)).len(), 1);

    // Rules for invocations leave IAM alone.
    emulator.inject(FaultRule::always(Fault::error(500, "FSS.0500", "broken")));
    assert_eq!(names_and_ids(&project_list(&lookup(&emulator, path).await)).len(), 1);
}

#[tokio::test]
async fn lookups_are_recorded_within_the_record_limit() {
    let emulator = builder().record_limit(2).start().await.unwrap();
    let path = "/v3/projects?name=cn-north-4";
    for _ in 0..3 {
        project_list(&lookup(&emulator, path).await);
    }
    lookup_signed_by(&emulator, path, "wrong-secret").await;
    assert_eq!(emulator.request_count(), 4);
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2, "bounded by the record limit");
    for request in &requests {
        assert_eq!(request.method, Method::GET);
        assert_eq!(request.path, path);
        assert!(request.body.is_empty());
        assert!(request.headers["authorization"].is_sensitive());
        assert!(!format!("{request:?}").contains(AK), "credentials are not in Debug");
    }
}
