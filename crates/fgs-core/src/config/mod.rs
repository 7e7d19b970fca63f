//! Configuration from the environment: [`ClientBuilder::from_env`](crate::ClientBuilder::from_env) and
//! [`Client::from_env`](crate::Client::from_env), modelled on `aws_config::load_from_env`.
//!
//! Every variable, in one table (the same table is in the README):
//!
#![doc = include_str!("../environment.md")]
//!
//! "official SDKs" marks the variables Huawei's own SDKs read, with the same meaning;
//! "fgs" marks ours, named in the same scheme. Values are trimmed, and an empty variable
//! counts as unset. Settings made on the builder after `from_env` win over the
//! environment.
//!
//! Credentials, the first that is set:
//! 1. `HUAWEICLOUD_SDK_IAM_TOKEN`: a static IAM token;
//! 2. AK/SK from the credential chain ([`CredentialChain`](crate::auth::CredentialChain)), in
//!    the official SDKs' order: an agency assumed with OIDC through STS (only when
//!    `HUAWEICLOUD_OIDC_PROVIDER_URN` or `HUAWEICLOUD_OIDC_AGENCY_URN` is set), the
//!    environment (`HUAWEICLOUD_SDK_AK`, ...), then the credentials file (its `[basic]`
//!    section, or the one `HUAWEICLOUD_SDK_PROFILE` names), then (only with
//!    `HUAWEICLOUD_SDK_USE_METADATA=true`) the metadata service, then a CCE pod identity
//!    (only when `HC_CONTAINER_CREDENTIALS_FULL_URI` is set). The chain is searched at
//!    the first call, so a missing key is reported by that call, listing every source.
//!
//! The project id, for calls that name a function without a URN: the variable, else (with
//! AK/SK) the `project_id` beside the keys in the credentials file, else IAM's answer to a
//! signed `GET /v3/projects?name={region}` ([`ClientBuilder::discover_project_id`](crate::ClientBuilder::discover_project_id)),
//! asked once.

#[cfg(feature = "auth")]
mod from_env;

/// `HUAWEICLOUD_SDK_REGION`: the region id.
pub const REGION: &str = "HUAWEICLOUD_SDK_REGION";
/// `HUAWEICLOUD_SDK_PROJECT_ID`: the project id.
pub const PROJECT_ID: &str = "HUAWEICLOUD_SDK_PROJECT_ID";
/// `HUAWEICLOUD_SDK_AK`: the access key id.
pub const ACCESS_KEY: &str = "HUAWEICLOUD_SDK_AK";
/// `HUAWEICLOUD_SDK_SK`: the secret access key.
pub const SECRET_KEY: &str = "HUAWEICLOUD_SDK_SK";
/// `HUAWEICLOUD_SDK_SECURITY_TOKEN`: the security token of temporary keys.
pub const SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";
/// `HUAWEICLOUD_SDK_CREDENTIALS_FILE`: the credentials file.
pub const CREDENTIALS_FILE: &str = "HUAWEICLOUD_SDK_CREDENTIALS_FILE";
/// `HUAWEICLOUD_SDK_PROFILE`: the section of the credentials file to read (`basic` when
/// unset).
pub const PROFILE: &str = "HUAWEICLOUD_SDK_PROFILE";
/// `HUAWEICLOUD_SDK_IAM_TOKEN`: a static IAM token.
pub const IAM_TOKEN: &str = "HUAWEICLOUD_SDK_IAM_TOKEN";
/// `HUAWEICLOUD_SDK_USE_METADATA`: `true` to ask the metadata service last.
pub const USE_METADATA: &str = "HUAWEICLOUD_SDK_USE_METADATA";
/// `HUAWEICLOUD_SDK_METADATA_ENDPOINT`: the metadata service's URL.
pub const METADATA_ENDPOINT: &str = "HUAWEICLOUD_SDK_METADATA_ENDPOINT";
/// `HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT`: the FunctionGraph endpoint, any region.
pub const FUNCTIONGRAPH_ENDPOINT: &str = "HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT";
/// `HUAWEICLOUD_SDK_REGION_FUNCTIONGRAPH_`: prefix of the official SDKs' per-region
/// endpoint variable, followed by the region in upper case with `_` for `-`.
pub const REGION_ENDPOINT_PREFIX: &str = "HUAWEICLOUD_SDK_REGION_FUNCTIONGRAPH_";
/// `HUAWEICLOUD_SDK_IAM_ENDPOINT`: the IAM endpoint of the project lookup and of
/// federated identities.
pub const IAM_ENDPOINT: &str = "HUAWEICLOUD_SDK_IAM_ENDPOINT";

/// `HUAWEICLOUD_SDK_IDP_ID`: the identity provider of a federated identity (with
/// [`ID_TOKEN_FILE`]).
pub const IDP_ID: &str = "HUAWEICLOUD_SDK_IDP_ID";
/// `HUAWEICLOUD_SDK_ID_TOKEN_FILE`: a file holding the OIDC ID token of a federated
/// identity (with [`IDP_ID`]).
pub const ID_TOKEN_FILE: &str = "HUAWEICLOUD_SDK_ID_TOKEN_FILE";
/// `HUAWEICLOUD_SDK_STS_ENDPOINT`: the STS endpoint of `AssumeAgencyWithOIDC`.
pub const STS_ENDPOINT: &str = "HUAWEICLOUD_SDK_STS_ENDPOINT";
/// `HUAWEICLOUD_OIDC_PROVIDER_URN`: the identity provider of an agency assumed with OIDC.
pub const OIDC_PROVIDER_URN: &str = "HUAWEICLOUD_OIDC_PROVIDER_URN";
/// `HUAWEICLOUD_OIDC_AGENCY_URN`: the agency assumed with OIDC.
pub const OIDC_AGENCY_URN: &str = "HUAWEICLOUD_OIDC_AGENCY_URN";
/// `HUAWEICLOUD_OIDC_ID_TOKEN`: the OIDC ID token itself.
pub const OIDC_ID_TOKEN: &str = "HUAWEICLOUD_OIDC_ID_TOKEN";
/// `HUAWEICLOUD_OIDC_TOKEN_FILE`: a file holding the OIDC ID token.
pub const OIDC_TOKEN_FILE: &str = "HUAWEICLOUD_OIDC_TOKEN_FILE";
/// `HUAWEICLOUD_OIDC_SESSION_NAME`: the session name of the assumed agency.
pub const OIDC_SESSION_NAME: &str = "HUAWEICLOUD_OIDC_SESSION_NAME";
/// `HUAWEICLOUD_OIDC_DURATION_SECONDS`: the lifetime asked for the agency's credentials.
pub const OIDC_DURATION_SECONDS: &str = "HUAWEICLOUD_OIDC_DURATION_SECONDS";
/// `HUAWEICLOUD_OIDC_POLICY`: a JSON policy narrowing the agency's permissions.
pub const OIDC_POLICY: &str = "HUAWEICLOUD_OIDC_POLICY";
/// `HUAWEICLOUD_OIDC_POLICY_IDS`: comma-separated ids of policies narrowing them.
pub const OIDC_POLICY_IDS: &str = "HUAWEICLOUD_OIDC_POLICY_IDS";
/// `HC_CONTAINER_CREDENTIALS_FULL_URI`: the CCE pod identity endpoint.
pub const POD_CREDENTIALS_URI: &str = "HC_CONTAINER_CREDENTIALS_FULL_URI";
/// `HC_CONTAINER_AUTHORIZATION_TOKEN_FILE`: the file holding the pod identity's
/// authorization token.
pub const POD_AUTHORIZATION_TOKEN_FILE: &str = "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE";

/// `HUAWEICLOUD_SDK_CA_FILE`: a PEM file of extra root certificates to trust.
pub const CA_FILE: &str = "HUAWEICLOUD_SDK_CA_FILE";

/// The official SDKs' endpoint variable of `region`, e.g.
/// `HUAWEICLOUD_SDK_REGION_FUNCTIONGRAPH_CN_NORTH_4`.
pub fn region_endpoint_variable(region: &str) -> String {
    let mut name = String::with_capacity(REGION_ENDPOINT_PREFIX.len() + region.len());
    name.push_str(REGION_ENDPOINT_PREFIX);
    name.extend(region.chars().map(|c| match c {
        '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is the documentation users read: every variable read is in it.
    #[test]
    fn every_variable_is_in_the_table() {
        let table = include_str!("../environment.md");
        let per_region = format!("{REGION_ENDPOINT_PREFIX}{{REGION}}");
        for name in [
            REGION,
            PROJECT_ID,
            ACCESS_KEY,
            SECRET_KEY,
            SECURITY_TOKEN,
            CREDENTIALS_FILE,
            PROFILE,
            IAM_TOKEN,
            USE_METADATA,
            METADATA_ENDPOINT,
            FUNCTIONGRAPH_ENDPOINT,
            &per_region,
            IAM_ENDPOINT,
            CA_FILE,
            IDP_ID,
            ID_TOKEN_FILE,
            STS_ENDPOINT,
            OIDC_PROVIDER_URN,
            OIDC_AGENCY_URN,
            OIDC_ID_TOKEN,
            OIDC_TOKEN_FILE,
            OIDC_SESSION_NAME,
            OIDC_DURATION_SECONDS,
            OIDC_POLICY,
            OIDC_POLICY_IDS,
            POD_CREDENTIALS_URI,
            POD_AUTHORIZATION_TOKEN_FILE,
        ] {
            assert!(table.contains(&format!("`{name}`")), "{name} is not in environment.md");
        }
    }
}
