//! `ClientBuilder::from_env` and `Client::from_env`: the variables of [`super`] read into a
//! builder.

use std::sync::Arc;

use super::*;
use crate::auth::environment::{Lookup, non_empty, process_environment};
use crate::auth::{AkSkAuth, CredentialChain, MetadataCredentials, StaticToken};
use crate::client::{Client, ClientBuilder};
use crate::error::ConfigError;

#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
impl ClientBuilder {
    /// A builder configured from the process environment (see the [`config`](crate::config)
    /// module for every variable), to adjust further before [`build`](Self::build).
    ///
    /// Nothing is read from the network or the credentials file here: credentials and
    /// the project id are found at the first call. A variable that cannot be used (not a
    /// boolean, not a URL) is reported by `build`.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), fgs_core::ConfigError> {
    /// let client = fgs_core::ClientBuilder::from_env()
    ///     .timeout(std::time::Duration::from_secs(30))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> ClientBuilder {
        Self::from_lookup_shared(process_environment())
    }

    /// [`from_env`](Self::from_env) with variables read through `lookup` (`None`: unset)
    /// instead of the process environment: for tests, or configuration kept elsewhere.
    ///
    /// ```
    /// let builder = fgs_core::ClientBuilder::from_lookup(|name| match name {
    ///     "HUAWEICLOUD_SDK_REGION" => Some("cn-north-4".to_owned()),
    ///     "HUAWEICLOUD_SDK_IAM_TOKEN" => Some("token".to_owned()),
    ///     _ => None,
    /// });
    /// let client = builder.build()?;
    /// assert_eq!(client.region(), Some("cn-north-4"));
    /// # Ok::<(), fgs_core::ConfigError>(())
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> ClientBuilder {
        Self::from_lookup_shared(Arc::new(lookup))
    }

    fn from_lookup_shared(lookup: Lookup) -> ClientBuilder {
        let mut builder = ClientBuilder::default();
        let region = non_empty(&lookup, REGION);
        let endpoint = non_empty(&lookup, FUNCTIONGRAPH_ENDPOINT).or_else(|| {
            let region = region.as_deref()?;
            let list = non_empty(&lookup, &region_endpoint_variable(region))?;
            list.split(',')
                .map(str::trim)
                .find(|url| !url.is_empty())
                .map(str::to_owned)
        });
        if let Some(region) = region {
            builder = builder.region(region);
        }
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        if let Some(project_id) = non_empty(&lookup, PROJECT_ID) {
            builder = builder.project_id(project_id);
        }
        if let Some(iam) = non_empty(&lookup, IAM_ENDPOINT) {
            builder = builder.iam_endpoint(iam);
        }
        if let Some(path) = non_empty(&lookup, CA_FILE) {
            // Read now, with a bounded read: a file that will not do is a build error.
            match crate::network::Certificate::from_pem_file(&path) {
                Ok(certificates) => {
                    for certificate in certificates {
                        builder = builder.add_root_certificate(certificate);
                    }
                }
                Err(error) => builder.defer(ConfigError::new(format!("{CA_FILE}: {error}"))),
            }
        }
        if let Some(token) = non_empty(&lookup, IAM_TOKEN) {
            return builder.auth(StaticToken::new(token));
        }
        // As in the official SDKs, AK/SK credentials without a project id look it up.
        builder = builder.discover_project_id(true);
        // The official SDKs' chain: OIDC through STS and pod identity only when their
        // variables are set, metadata only when asked for.
        let mut chain = CredentialChain::from_shared_lookup(&lookup);
        match flag(&lookup, USE_METADATA) {
            Ok(true) => {
                let mut metadata = MetadataCredentials::new();
                if let Some(endpoint) = non_empty(&lookup, METADATA_ENDPOINT) {
                    metadata = metadata.with_endpoint(endpoint);
                }
                chain = chain.with_metadata(metadata);
            }
            Ok(false) => {}
            Err(error) => builder.defer(error),
        }
        builder.credentials_project = Some(Box::new(chain.clone()));
        builder.auth(AkSkAuth::new(chain))
    }

    /// Keeps the first unusable setting for `build` to report.
    pub(crate) fn defer(&mut self, error: ConfigError) {
        if self.deferred_error.is_none() {
            self.deferred_error = Some(error);
        }
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
impl Client {
    /// A client configured from the environment: `ClientBuilder::from_env().build()`.
    /// See the [`config`](crate::config) module for the variables.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), fgs_core::Error> {
    /// let client = fgs_core::Client::from_env()?;
    /// let output = client.invoke("default/hello").json(&serde_json::json!({"name": "fgs"})).send().await?;
    /// println!("{}", output.result_str()?);
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Client, ConfigError> {
        ClientBuilder::from_env().build()
    }
}

/// A boolean variable: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off` (any case); unset
/// is false.
fn flag(lookup: &Lookup, name: &str) -> Result<bool, ConfigError> {
    let Some(value) = non_empty(lookup, name) else {
        return Ok(false);
    };
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(format!(
            "{name} is {}, which is not true or false",
            crate::protocol::quoted_prefix(&value)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn builder(vars: &[(&str, &str)]) -> ClientBuilder {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ClientBuilder::from_lookup(move |name| vars.get(name).cloned())
    }

    #[test]
    fn the_official_endpoint_variable_is_named_after_the_region() {
        assert_eq!(
            region_endpoint_variable("cn-north-4"),
            "HUAWEICLOUD_SDK_REGION_FUNCTIONGRAPH_CN_NORTH_4"
        );
    }

    #[test]
    fn region_endpoint_and_project_come_from_the_variables() {
        let client = builder(&[
            (REGION, "ap-southeast-1"),
            (PROJECT_ID, "0123456789abcdef0123456789abcdef"),
            (IAM_TOKEN, "t"),
        ])
        .build()
        .unwrap();
        assert_eq!(client.region(), Some("ap-southeast-1"));
        assert_eq!(client.project_id(), Some("0123456789abcdef0123456789abcdef"));
        assert!(format!("{client:?}").contains("functiongraph.ap-southeast-1.myhuaweicloud.com"));

        let client = builder(&[
            (REGION, "cn-north-4"),
            (
                "HUAWEICLOUD_SDK_REGION_FUNCTIONGRAPH_CN_NORTH_4",
                " http://127.0.0.1:9001, https://x.example.com",
            ),
            (IAM_TOKEN, "t"),
        ])
        .build()
        .unwrap();
        assert!(format!("{client:?}").contains("http://127.0.0.1:9001"), "{client:?}");

        let client = builder(&[
            (REGION, "cn-north-4"),
            (
                "HUAWEICLOUD_SDK_REGION_FUNCTIONGRAPH_CN_NORTH_4",
                "http://127.0.0.1:9001",
            ),
            (FUNCTIONGRAPH_ENDPOINT, "http://127.0.0.1:9002"),
            (IAM_TOKEN, "t"),
        ])
        .build()
        .unwrap();
        assert!(
            format!("{client:?}").contains("http://127.0.0.1:9002"),
            "the fgs variable wins"
        );
    }

    #[test]
    fn unusable_values_are_configuration_errors_from_build() {
        let err = builder(&[(REGION, "cn-north-4"), (USE_METADATA, "maybe")])
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid client configuration: HUAWEICLOUD_SDK_USE_METADATA is "maybe", which is not true or false"#
        );
        let err = builder(&[(REGION, "CN North")]).build().unwrap_err();
        assert!(err.message().contains("region"), "{err}");
        let err = builder(&[(REGION, "cn-north-4"), (CA_FILE, "/nonexistent/fgs-ca.pem")])
            .build()
            .unwrap_err();
        assert!(err.message().starts_with("HUAWEICLOUD_SDK_CA_FILE: "), "{err}");
        assert!(err.message().contains("/nonexistent/fgs-ca.pem"), "{err}");
        let err = builder(&[]).build().unwrap_err();
        assert!(err.message().contains("region or an endpoint"), "{err}");
    }

    #[test]
    fn builder_settings_after_from_env_win() {
        let client = builder(&[(REGION, "cn-north-4"), (IAM_TOKEN, "t")])
            .region("ap-southeast-1")
            .build()
            .unwrap();
        assert_eq!(client.region(), Some("ap-southeast-1"));
    }

    #[test]
    fn secrets_never_show() {
        let builder = builder(&[(REGION, "cn-north-4"), (ACCESS_KEY, "AK-1"), (SECRET_KEY, "SK-SECRET")]);
        assert!(!format!("{builder:?}").contains("SK-SECRET"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("SK-SECRET"));
    }
}
