//! The credential chain: order of the sources, the error when none has credentials,
//! credentials files on disk, and the project id.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

use fgs::auth::AuthErrorKind;
use fgs::auth::{
    CredentialChain, CredentialSource, Credentials, EnvironmentCredentials, MetadataCredentials, ProfileCredentials,
    ProvideCredentials,
};

/// A fresh directory under the target's temporary directory.
fn temp_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fgs-auth-chain-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A credentials file with `contents` in a fresh directory.
fn credentials_file(test: &str, contents: &str) -> PathBuf {
    let path = temp_dir(test).join("credentials");
    std::fs::write(&path, contents).unwrap();
    path
}

fn env(vars: &[(&str, &str)]) -> EnvironmentCredentials {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    EnvironmentCredentials::from_lookup(move |name| vars.get(name).cloned())
}

fn env_keys() -> EnvironmentCredentials {
    env(&[
        ("HUAWEICLOUD_SDK_AK", "AK-ENV"),
        ("HUAWEICLOUD_SDK_SK", "SK-ENV"),
        ("HUAWEICLOUD_SDK_PROJECT_ID", "project-from-env"),
    ])
}

const PROFILE: &str = "\
# written by hcloud
[basic]
ak = AK-PROFILE
sk = SK-PROFILE
project_id = project-from-profile
iam_endpoint = https://iam.example.com

[global]
ak = AK-GLOBAL
sk = SK-GLOBAL
domain_id = d
";

#[tokio::test]
async fn explicit_beats_environment_beats_profile() {
    let profile = ProfileCredentials::from_path(credentials_file("order", PROFILE));

    let chain = CredentialChain::empty()
        .with_explicit(Credentials::new("AK-EXPLICIT", "SK-EXPLICIT"))
        .with_environment(env_keys())
        .with_profile(profile.clone());
    assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-EXPLICIT");
    assert_eq!(chain.resolved_source(), Some(CredentialSource::Explicit));

    let chain = CredentialChain::empty()
        .with_environment(env_keys())
        .with_profile(profile.clone());
    assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-ENV");
    assert_eq!(chain.resolved_source(), Some(CredentialSource::Environment));

    let chain = CredentialChain::empty()
        .with_environment(env(&[]))
        .with_profile(profile);
    let credentials = chain.provide_credentials().await.unwrap();
    assert_eq!(credentials.access_key(), "AK-PROFILE");
    assert_eq!(credentials.secret_key().expose(), "SK-PROFILE");
    assert!(credentials.security_token().is_none());
    assert_eq!(chain.resolved_source(), Some(CredentialSource::Profile));
}

#[tokio::test]
async fn builder_order_does_not_change_the_search_order() {
    let profile = ProfileCredentials::from_path(credentials_file("builder-order", PROFILE));
    let chain = CredentialChain::empty()
        .with_profile(profile)
        .with_environment(env_keys())
        .with_explicit(Credentials::new("AK-EXPLICIT", "SK-EXPLICIT"));
    assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-EXPLICIT");
}

#[tokio::test]
async fn the_source_that_worked_is_kept() {
    let path = credentials_file("kept", PROFILE);
    let chain = CredentialChain::empty()
        .with_environment(env(&[]))
        .with_profile(ProfileCredentials::from_path(&path));
    assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-PROFILE");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        chain.provide_credentials().await.unwrap().access_key(),
        "AK-PROFILE",
        "not read again"
    );
}

#[tokio::test]
async fn the_error_lists_every_source_and_why() {
    let missing = temp_dir("error").join("credentials");
    let chain = CredentialChain::default_chain()
        .with_environment(env(&[]))
        .with_profile(ProfileCredentials::from_path(&missing));
    let err = chain.provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Missing);
    assert_eq!(
        err.to_string(),
        format!(
            "no credentials found: oidc-sts: not enabled; environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set; \
             profile: {} does not exist; metadata: not enabled; pod-identity: not enabled",
            missing.display()
        )
    );
    assert_eq!(chain.resolved_source(), None);
}

#[tokio::test]
async fn the_error_never_shows_secrets() {
    let path = credentials_file(
        "secrets",
        "[basic]\nsk = SK-PROFILE-SECRET\nsecurity_token = TOKEN-SECRET\n",
    );
    let chain = CredentialChain::empty()
        .with_environment(env(&[
            ("HUAWEICLOUD_SDK_SK", "SK-ENV-SECRET"),
            ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "T"),
        ]))
        .with_profile(ProfileCredentials::from_path(&path));
    let message = chain.provide_credentials().await.unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "no credentials found: oidc-sts: not enabled; environment: HUAWEICLOUD_SDK_AK is not set (but HUAWEICLOUD_SDK_SK is); \
             profile: {}: [basic] has no ak; metadata: not enabled; pod-identity: not enabled",
            path.display()
        )
    );
    for secret in ["SK-PROFILE-SECRET", "TOKEN-SECRET", "SK-ENV-SECRET"] {
        assert!(!message.contains(secret), "{message}");
    }
    assert!(!format!("{chain:?}").contains("SECRET"));
}

#[tokio::test]
async fn profile_problems_name_the_file() {
    let no_section = credentials_file("no-section", "[global]\nak = a\nsk = b\n");
    let err = ProfileCredentials::from_path(&no_section).credentials().unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Missing);
    assert_eq!(
        err.to_string(),
        format!("{}: there is no [basic] section", no_section.display())
    );

    let malformed = credentials_file("malformed", "[basic]\nak = a\nthis is not ini\n");
    let err = ProfileCredentials::from_path(&malformed).credentials().unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Invalid);
    assert_eq!(
        err.to_string(),
        format!(
            "{}, line 3: expected `[section]`, `key = value` or a comment",
            malformed.display()
        )
    );
}

#[tokio::test]
async fn an_unreachable_metadata_service_is_reported() {
    // A port on loopback that nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let chain = CredentialChain::empty()
        .with_environment(env(&[]))
        .with_metadata(MetadataCredentials::new().with_endpoint(&endpoint));
    let message = chain.provide_credentials().await.unwrap_err().to_string();
    let expected = format!(
        "no credentials found: oidc-sts: not enabled; environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set; \
         profile: not enabled; metadata: could not reach the metadata service at {endpoint}"
    );
    assert!(message.starts_with(&expected), "{message}");
}

#[tokio::test]
async fn the_project_id_comes_from_the_source_that_had_credentials() {
    let profile = ProfileCredentials::from_path(credentials_file("project", PROFILE));

    let chain = CredentialChain::empty()
        .with_environment(env_keys())
        .with_profile(profile.clone());
    assert_eq!(chain.project_id().await.unwrap().as_deref(), Some("project-from-env"));

    let chain = CredentialChain::empty()
        .with_environment(env(&[]))
        .with_profile(profile.clone());
    assert_eq!(
        chain.project_id().await.unwrap().as_deref(),
        Some("project-from-profile")
    );
    assert_eq!(
        chain.resolved_source(),
        Some(CredentialSource::Profile),
        "project_id() searched the sources"
    );

    // Keys from the environment, no project id there: the profile's is not mixed in.
    let env_without_project = env(&[("HUAWEICLOUD_SDK_AK", "AK-ENV"), ("HUAWEICLOUD_SDK_SK", "SK-ENV")]);
    let chain = CredentialChain::empty()
        .with_environment(env_without_project)
        .with_profile(profile.clone());
    assert_eq!(chain.project_id().await.unwrap(), None);

    let chain = CredentialChain::empty()
        .with_environment(env_keys())
        .with_profile(profile)
        .with_project_id("project-given");
    assert_eq!(chain.project_id().await.unwrap().as_deref(), Some("project-given"));
    assert_eq!(chain.resolved_source(), None, "a given project id needs no search");
    assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-ENV");
    assert_eq!(chain.project_id().await.unwrap().as_deref(), Some("project-given"));

    let chain = CredentialChain::empty().with_explicit(Credentials::new("AK", "SK"));
    assert_eq!(chain.project_id().await.unwrap(), None);
}

#[tokio::test]
async fn the_credentials_file_is_found_through_the_environment() {
    let path = credentials_file(
        "located",
        "[basic]\nAK = AK-LOCATED\nSK = SK-LOCATED\nsecurity_token = T\n",
    );
    let located = path.to_str().unwrap().to_owned();
    let profile = ProfileCredentials::from_lookup(move |name| {
        (name == "HUAWEICLOUD_SDK_CREDENTIALS_FILE").then(|| located.clone())
    });
    assert_eq!(profile.path(), Some(path.as_path()));
    let chain = CredentialChain::empty().with_profile(profile);
    let credentials = chain.provide_credentials().await.unwrap();
    assert_eq!(credentials.access_key(), "AK-LOCATED");
    assert_eq!(credentials.security_token().map(|t| t.expose()), Some("T"));
    assert_eq!(chain.project_id().await.unwrap(), None);

    // The default location under the home directory.
    let home = temp_dir("home");
    std::fs::create_dir_all(home.join(".huaweicloud")).unwrap();
    std::fs::write(home.join(".huaweicloud").join("credentials"), PROFILE).unwrap();
    let home_var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    let home_text = home.to_str().unwrap().to_owned();
    let profile = ProfileCredentials::from_lookup(move |name| (name == home_var).then(|| home_text.clone()));
    assert_eq!(profile.credentials().unwrap().access_key(), "AK-PROFILE");
}

/// `HUAWEICLOUD_SDK_CREDENTIALS_FILE=/dev/zero` (an endless file): a clear error, quickly,
/// after reading at most 1 MiB.
#[cfg(unix)]
#[tokio::test]
async fn a_credentials_file_variable_naming_dev_zero_is_a_clear_error() {
    let profile =
        ProfileCredentials::from_lookup(|name| (name == ProfileCredentials::FILE_VAR).then(|| "/dev/zero".to_owned()));
    let chain = CredentialChain::empty()
        .with_environment(env(&[]))
        .with_profile(profile);
    let started = std::time::Instant::now();
    let err = chain.provide_credentials().await.unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err.to_string(),
        "no credentials found: oidc-sts: not enabled; environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set; \
         profile: /dev/zero is larger than 1048576 bytes, which is too large for a credentials file; \
         metadata: not enabled; pod-identity: not enabled"
    );
}
