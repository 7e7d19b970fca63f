//! The credential chain: the first of several sources that has credentials.

use std::fmt;
use std::sync::Arc;

use crate::auth::AuthError;
use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::auth::credentials::{Credentials, ProvideCredentials};
use crate::auth::environment::{EnvironmentCredentials, Lookup, process_environment};
use crate::auth::metadata::MetadataCredentials;
use crate::auth::oidc::OidcStsCredentials;
use crate::auth::pod_identity::PodIdentityCredentials;
use crate::auth::profile::ProfileCredentials;
use crate::auth::renew;

/// A source of a [`CredentialChain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialSource {
    /// Given with [`CredentialChain::with_explicit`].
    Explicit,
    /// [`OidcStsCredentials`].
    OidcSts,
    /// [`EnvironmentCredentials`]: keys, or a federated identity.
    Environment,
    /// [`ProfileCredentials`]: keys, or a federated identity.
    Profile,
    /// [`MetadataCredentials`].
    Metadata,
    /// [`PodIdentityCredentials`].
    PodIdentity,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialSource::Explicit => "explicit",
            CredentialSource::OidcSts => "oidc-sts",
            CredentialSource::Environment => "environment",
            CredentialSource::Profile => "profile",
            CredentialSource::Metadata => "metadata",
            CredentialSource::PodIdentity => "pod-identity",
        })
    }
}

/// The source that had credentials, found at first use.
#[derive(Debug)]
struct Resolved {
    source: CredentialSource,
    credentials: Found,
    project_id: Option<String>,
}

/// Credentials as a source supplies them.
#[derive(Debug)]
enum Found {
    /// Read once and kept (explicit, environment and file keys).
    Kept(Credentials),
    /// Asked every time: temporary credentials that renew themselves (metadata, OIDC, pod
    /// identity, federation), each source caching on its own.
    Renewing(Arc<dyn ProvideCredentials>),
}

/// Credentials found the way Huawei's SDKs find them: the first of these sources, in
/// this order, that has some (the order of the official SDKs' `CredentialProviderChain`).
///
/// 1. explicit credentials, if given ([`with_explicit`](Self::with_explicit));
/// 2. an agency assumed with an OIDC ID token through STS ([`OidcStsCredentials`]), if
///    added ([`with_oidc_sts`](Self::with_oidc_sts); the default chain adds it when
///    `HUAWEICLOUD_OIDC_PROVIDER_URN` or `HUAWEICLOUD_OIDC_AGENCY_URN` is set);
/// 3. the environment ([`EnvironmentCredentials`]: a federated identity,
///    `HUAWEICLOUD_SDK_IDP_ID` with `HUAWEICLOUD_SDK_ID_TOKEN_FILE`, else
///    `HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK`, ...);
/// 4. the shared credentials file ([`ProfileCredentials`]: `[basic]` of
///    `~/.huaweicloud/credentials`, a federated identity or keys);
/// 5. the ECS/CCE instance metadata service ([`MetadataCredentials`]), only if enabled
///    with [`with_metadata`](Self::with_metadata): outside Huawei Cloud its address
///    leads nowhere, so it is never asked unless you say so;
/// 6. a CCE pod identity ([`PodIdentityCredentials`]), if added
///    ([`with_pod_identity`](Self::with_pod_identity); the default chain adds it when
///    `HC_CONTAINER_CREDENTIALS_FULL_URI` is set).
///
/// The sources are tried at the first use ([`provide_credentials`](ProvideCredentials::provide_credentials)
/// or [`project_id`](Self::project_id)); the one that worked is kept, and later calls go
/// straight to it: explicit, environment and profile keys are kept as they were read,
/// and temporary credentials (OIDC, federated identities, metadata, pod identity) keep
/// renewing themselves. A
/// failed search is not kept, so the next call searches again. Clones share what was
/// found.
///
/// When no source has credentials the error
/// ([`Missing`](crate::auth::AuthErrorKind::Missing)) lists every source in order and why
/// it had none, never a secret, e.g. `no credentials found: oidc-sts: not enabled;
/// environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set; profile:
/// /home/u/.huaweicloud/credentials does not exist; metadata: not enabled; pod-identity:
/// not enabled`.
///
/// ```no_run
/// use fgs_core::auth::{AkSkAuth, CredentialChain, MetadataCredentials};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let chain = CredentialChain::default_chain().with_metadata(MetadataCredentials::new());
/// let mut builder = fgs_core::Client::builder().region("cn-north-4");
/// if let Some(project_id) = chain.project_id().await? {
///     builder = builder.project_id(project_id);
/// }
/// let client = builder.auth(AkSkAuth::new(chain)).build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CredentialChain {
    explicit: Option<Credentials>,
    project_id: Option<String>,
    oidc_sts: Option<OidcStsCredentials>,
    environment: Option<EnvironmentCredentials>,
    profile: Option<ProfileCredentials>,
    metadata: Option<MetadataCredentials>,
    pod_identity: Option<PodIdentityCredentials>,
    resolved: Arc<OnceCell<Resolved>>,
}

impl Default for CredentialChain {
    /// [`CredentialChain::default_chain`].
    fn default() -> Self {
        Self::default_chain()
    }
}

impl CredentialChain {
    /// A chain with no sources; add them with the `with_*` methods.
    pub fn empty() -> Self {
        CredentialChain {
            explicit: None,
            project_id: None,
            oidc_sts: None,
            environment: None,
            profile: None,
            metadata: None,
            pod_identity: None,
            resolved: Arc::default(),
        }
    }

    /// The sources the process environment sets up: OIDC through STS if its variables
    /// are set, the environment, the shared credentials file where the environment says
    /// (or `~/.huaweicloud/credentials`), and a pod identity if its variables are set. No
    /// metadata: add it with [`with_metadata`](Self::with_metadata).
    pub fn default_chain() -> Self {
        Self::from_shared_lookup(&process_environment())
    }

    /// [`default_chain`](Self::default_chain) with variables read through `lookup`.
    pub(crate) fn from_shared_lookup(lookup: &Lookup) -> Self {
        let mut chain = Self::empty()
            .with_environment(EnvironmentCredentials::from_shared_lookup(Arc::clone(lookup)))
            .with_profile(ProfileCredentials::from_shared_lookup(Arc::clone(lookup)));
        if OidcStsCredentials::configured(lookup) {
            chain = chain.with_oidc_sts(OidcStsCredentials::from_shared_lookup(lookup));
        }
        if PodIdentityCredentials::configured(lookup) {
            chain = chain.with_pod_identity(PodIdentityCredentials::from_shared_lookup(lookup));
        }
        chain
    }

    /// Adds an agency assumed with OIDC through STS, tried first (after explicit
    /// credentials); replaces the one there is.
    pub fn with_oidc_sts(mut self, oidc: OidcStsCredentials) -> Self {
        self.oidc_sts = Some(oidc);
        self.reset()
    }

    /// Adds a CCE pod identity, tried last; replaces the one there is.
    pub fn with_pod_identity(mut self, pod_identity: PodIdentityCredentials) -> Self {
        self.pod_identity = Some(pod_identity);
        self.reset()
    }

    /// Credentials that win over every other source.
    pub fn with_explicit(mut self, credentials: Credentials) -> Self {
        self.explicit = Some(credentials);
        self.reset()
    }

    /// A project id that wins over the one of any source (see [`project_id`](Self::project_id)).
    pub fn with_project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self.reset()
    }

    /// The environment source (replacing the one there is).
    pub fn with_environment(mut self, environment: EnvironmentCredentials) -> Self {
        self.environment = Some(environment);
        self.reset()
    }

    /// The credentials file source (replacing the one there is).
    pub fn with_profile(mut self, profile: ProfileCredentials) -> Self {
        self.profile = Some(profile);
        self.reset()
    }

    /// Enables the instance metadata source, tried last.
    pub fn with_metadata(mut self, metadata: MetadataCredentials) -> Self {
        self.metadata = Some(metadata);
        self.reset()
    }

    /// A changed chain searches anew.
    fn reset(mut self) -> Self {
        self.resolved = Arc::default();
        self
    }

    /// The source the credentials come from, once they were found.
    pub fn resolved_source(&self) -> Option<CredentialSource> {
        self.resolved.get().map(|resolved| resolved.source)
    }

    /// The project id that goes with the credentials: the one given to
    /// [`with_project_id`](Self::with_project_id) if any, else the one of the source that
    /// supplied the credentials (`HUAWEICLOUD_SDK_PROJECT_ID` of the environment source
    /// for the environment and for OIDC, as in the official SDKs; `project_id` in
    /// `[basic]` for the credentials file; explicit credentials, metadata and pod identity
    /// have none).
    ///
    /// Asynchronous because it searches the sources if that has not happened yet (which
    /// may ask the metadata service); it fails as
    /// [`provide_credentials`](ProvideCredentials::provide_credentials) does when no
    /// source has credentials. A project id given with `with_project_id` is returned
    /// without searching.
    pub async fn project_id(&self) -> Result<Option<String>, AuthError> {
        if let Some(project_id) = &self.project_id {
            return Ok(Some(project_id.clone()));
        }
        Ok(self.resolve().await?.project_id.clone())
    }

    async fn resolve(&self) -> Result<&Resolved, AuthError> {
        self.resolved.get_or_try_init(|| self.search()).await
    }

    /// Tries each source in order.
    async fn search(&self) -> Result<Resolved, AuthError> {
        let found = |source, credentials, project_id| Resolved {
            source,
            credentials,
            project_id,
        };
        if let Some(credentials) = &self.explicit {
            return Ok(found(
                CredentialSource::Explicit,
                Found::Kept(credentials.clone()),
                None,
            ));
        }
        let mut failures = Vec::new();
        let mut failed = |source: CredentialSource, why: &dyn fmt::Display| failures.push(format!("{source}: {why}"));
        let not_enabled = &"not enabled";
        match &self.oidc_sts {
            Some(oidc) => match renewing(oidc).await {
                Ok(credentials) => {
                    let project_id = self.environment.as_ref().and_then(EnvironmentCredentials::project_id);
                    return Ok(found(CredentialSource::OidcSts, credentials, project_id));
                }
                Err(error) => failed(CredentialSource::OidcSts, &error),
            },
            None => failed(CredentialSource::OidcSts, not_enabled),
        }
        match &self.environment {
            // A federated identity first, as in the official SDKs, then keys.
            Some(environment) => match environment.federated().map_err(|e| renew::chain_text(&e)) {
                Ok(Some(federated)) => match renewing(&federated).await {
                    Ok(credentials) => {
                        let project_id = environment.project_id();
                        return Ok(found(CredentialSource::Environment, credentials, project_id));
                    }
                    Err(why) => failed(CredentialSource::Environment, &why),
                },
                Ok(None) => match environment.credentials() {
                    Ok(credentials) => {
                        return Ok(found(
                            CredentialSource::Environment,
                            Found::Kept(credentials),
                            environment.project_id(),
                        ));
                    }
                    Err(error) => failed(CredentialSource::Environment, &error),
                },
                Err(why) => failed(CredentialSource::Environment, &why),
            },
            None => failed(CredentialSource::Environment, not_enabled),
        }
        match &self.profile {
            Some(profile) => match profile.federated().map_err(|e| renew::chain_text(&e)) {
                Ok(Some(federated)) => match renewing(&federated).await {
                    Ok(credentials) => {
                        let project_id = profile.project_id().ok().flatten();
                        return Ok(found(CredentialSource::Profile, credentials, project_id));
                    }
                    Err(why) => failed(CredentialSource::Profile, &why),
                },
                Ok(None) => match profile.credentials() {
                    Ok(credentials) => {
                        let project_id = profile.project_id().ok().flatten();
                        return Ok(found(CredentialSource::Profile, Found::Kept(credentials), project_id));
                    }
                    Err(error) => failed(CredentialSource::Profile, &error),
                },
                Err(why) => failed(CredentialSource::Profile, &why),
            },
            None => failed(CredentialSource::Profile, not_enabled),
        }
        match &self.metadata {
            Some(metadata) => match renewing(metadata).await {
                Ok(credentials) => return Ok(found(CredentialSource::Metadata, credentials, None)),
                Err(error) => failed(CredentialSource::Metadata, &error),
            },
            None => failed(CredentialSource::Metadata, not_enabled),
        }
        match &self.pod_identity {
            Some(pod_identity) => match renewing(pod_identity).await {
                Ok(credentials) => return Ok(found(CredentialSource::PodIdentity, credentials, None)),
                Err(error) => failed(CredentialSource::PodIdentity, &error),
            },
            None => failed(CredentialSource::PodIdentity, not_enabled),
        }
        Err(AuthError::missing(format!(
            "no credentials found: {}",
            failures.join("; ")
        )))
    }
}

/// A renewing source that has credentials now, kept to be asked at every use. The error
/// keeps its causes in its text: the chain's message lists them.
async fn renewing<P: ProvideCredentials + Clone + 'static>(source: &P) -> Result<Found, String> {
    match source.provide_credentials().await {
        Ok(_) => Ok(Found::Renewing(Arc::new(source.clone()))),
        Err(error) => Err(renew::chain_text(&error)),
    }
}

#[async_trait]
impl ProvideCredentials for CredentialChain {
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        match &self.resolve().await?.credentials {
            Found::Kept(credentials) => Ok(credentials.clone()),
            Found::Renewing(source) => source.provide_credentials().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::AuthErrorKind;

    use super::*;

    fn env(ak: Option<&'static str>) -> EnvironmentCredentials {
        EnvironmentCredentials::from_lookup(move |name| match name {
            "HUAWEICLOUD_SDK_AK" => ak.map(str::to_owned),
            "HUAWEICLOUD_SDK_SK" => ak.map(|_| "SK-FROM-ENV".to_owned()),
            _ => None,
        })
    }

    #[tokio::test]
    async fn first_source_with_credentials_wins_and_is_kept() {
        let chain = CredentialChain::empty()
            .with_environment(env(Some("AK-ENV")))
            .with_profile(ProfileCredentials::from_path("/nonexistent/credentials"));
        assert_eq!(chain.resolved_source(), None);
        assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-ENV");
        assert_eq!(chain.resolved_source(), Some(CredentialSource::Environment));
        assert_eq!(
            chain.clone().resolved_source(),
            Some(CredentialSource::Environment),
            "clones share"
        );
        assert_eq!(chain.project_id().await.unwrap(), None);
    }

    #[tokio::test]
    async fn explicit_needs_no_other_source() {
        let chain = CredentialChain::empty()
            .with_explicit(Credentials::new("AK-X", "SK-X"))
            .with_project_id("p-x");
        assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-X");
        assert_eq!(chain.resolved_source(), Some(CredentialSource::Explicit));
        assert_eq!(chain.project_id().await.unwrap().as_deref(), Some("p-x"));
    }

    #[tokio::test]
    async fn an_empty_chain_says_nothing_is_enabled() {
        let err = CredentialChain::empty().provide_credentials().await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Missing);
        assert_eq!(
            err.to_string(),
            "no credentials found: oidc-sts: not enabled; environment: not enabled; profile: not enabled; \
             metadata: not enabled; pod-identity: not enabled"
        );
    }

    #[tokio::test]
    async fn failures_are_not_kept() {
        let chain = CredentialChain::empty().with_environment(env(None));
        assert!(chain.provide_credentials().await.is_err());
        assert_eq!(chain.resolved_source(), None);
        assert!(chain.project_id().await.is_err());
    }

    #[tokio::test]
    async fn a_failing_oidc_source_falls_through_to_the_environment_and_is_reported() {
        let chain = CredentialChain::empty()
            .with_oidc_sts(OidcStsCredentials::from_lookup(|name| {
                (name == "HUAWEICLOUD_OIDC_PROVIDER_URN").then(|| "p".to_owned())
            }))
            .with_environment(env(Some("AK-ENV")))
            .with_pod_identity(PodIdentityCredentials::from_lookup(|_| None));
        assert_eq!(chain.provide_credentials().await.unwrap().access_key(), "AK-ENV");
        assert_eq!(chain.resolved_source(), Some(CredentialSource::Environment));

        let chain = CredentialChain::empty()
            .with_oidc_sts(OidcStsCredentials::from_lookup(|name| {
                (name == "HUAWEICLOUD_OIDC_PROVIDER_URN").then(|| "p".to_owned())
            }))
            .with_pod_identity(PodIdentityCredentials::from_lookup(|_| None));
        assert_eq!(
            chain.provide_credentials().await.unwrap_err().to_string(),
            "no credentials found: oidc-sts: HUAWEICLOUD_OIDC_AGENCY_URN is not set; environment: not enabled; \
             profile: not enabled; metadata: not enabled; pod-identity: HC_CONTAINER_CREDENTIALS_FULL_URI is not set"
        );
    }

    #[test]
    fn source_names() {
        let names: Vec<String> = [
            CredentialSource::Explicit,
            CredentialSource::OidcSts,
            CredentialSource::Environment,
            CredentialSource::Profile,
            CredentialSource::Metadata,
            CredentialSource::PodIdentity,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            names,
            [
                "explicit",
                "oidc-sts",
                "environment",
                "profile",
                "metadata",
                "pod-identity"
            ]
        );
    }
}
