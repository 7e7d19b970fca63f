//! The project id of calls that name a function without one: set on the builder, found
//! with the credentials, or looked up from IAM once and kept for the client's life.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Uri, header};
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::auth::{Auth, AuthContext};
use crate::error::{ConfigError, Error};
use crate::protocol::{OperationInfo, quoted_prefix};
use crate::transport::{SendOptions, Transport};

/// IAM's `KeystoneListProjects`, as the official SDKs call it to find a region's project:
/// `GET {iam}/v3/projects?name={region}`, signed like any call.
const LIST_PROJECTS: OperationInfo = OperationInfo {
    id: "KeystoneListProjects",
    method: Method::GET,
    path_template: "/v3/projects",
    request_content_types: &[],
    max_body_bytes: None,
    max_run_seconds: None,
    success_status: 200,
};

/// The largest project list read: a region has one project, an account a few hundred.
const MAX_PROJECTS_RESPONSE_BYTES: u64 = 1 << 20;

/// Where a client's default project id comes from.
pub(crate) enum ProjectSource {
    /// No default: a function named without a project is a configuration error.
    None,
    /// Given on the builder or found in the environment.
    Fixed(String),
    /// Asked at the first call that needs it, then kept.
    Discovered(Box<Discovery>),
}

impl fmt::Debug for ProjectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectSource::None => f.write_str("None"),
            ProjectSource::Fixed(id) => f.debug_tuple("Fixed").field(id).finish(),
            ProjectSource::Discovered(discovery) => f
                .debug_struct("Discovered")
                .field("iam_endpoint", &discovery.iam_endpoint)
                .field("project_id", &discovery.found.get())
                .finish(),
        }
    }
}

/// Finds the project id at first use: from the credential source first (the project id
/// beside the keys in the environment or the credentials file), else from IAM. A failure
/// is not kept, so the next call asks again.
pub(crate) struct Discovery {
    pub(crate) iam_endpoint: Uri,
    /// Asked before IAM: a project id that came with the credentials.
    pub(crate) from_credentials: Option<Box<dyn CredentialsProject>>,
    pub(crate) found: OnceCell<String>,
}

/// The project id that a credential source may hold beside the keys.
#[async_trait::async_trait]
pub(crate) trait CredentialsProject: Send + Sync {
    async fn project_id(&self) -> Result<Option<String>, crate::auth::AuthError>;
}

#[cfg(feature = "auth")]
#[async_trait::async_trait]
impl CredentialsProject for crate::auth::CredentialChain {
    async fn project_id(&self) -> Result<Option<String>, crate::auth::AuthError> {
        crate::auth::CredentialChain::project_id(self).await
    }
}

impl ProjectSource {
    /// The project id known now, without asking anyone.
    pub(crate) fn known(&self) -> Option<&str> {
        match self {
            ProjectSource::None => None,
            ProjectSource::Fixed(id) => Some(id),
            ProjectSource::Discovered(discovery) => discovery.found.get().map(String::as_str),
        }
    }
}

/// What the lookup needs from the client.
pub(crate) struct LookupContext<'a> {
    pub region: &'a str,
    pub auth: &'a Arc<dyn Auth>,
    pub transport: &'a Arc<dyn Transport>,
    pub user_agent: &'a HeaderValue,
    /// What is left of the call's deadline.
    pub timeout: Option<std::time::Duration>,
}

impl Discovery {
    /// The project id, looked up at most once at a time and kept once found.
    pub(crate) async fn project_id(&self, context: &LookupContext<'_>) -> Result<&str, Error> {
        self.found
            .get_or_try_init(|| self.look_up(context))
            .await
            .map(String::as_str)
    }

    async fn look_up(&self, context: &LookupContext<'_>) -> Result<String, Error> {
        if let Some(source) = &self.from_credentials {
            if let Some(id) = source.project_id().await.map_err(Error::Auth)? {
                return Ok(id);
            }
        }
        let region = context.region;
        let failed = |why: String| {
            ConfigError::new(format!(
                "cannot find the project id of region {region}: {why}; set HUAWEICLOUD_SDK_PROJECT_ID or call \
                 ClientBuilder::project_id"
            ))
        };
        let request = self.request(context).map_err(|e| failed(e.to_string()))?;
        let info = &LIST_PROJECTS;
        let auth_context = AuthContext::new(info, "", region);
        let mut request = request;
        context
            .auth
            .authenticate(&mut request, &auth_context)
            .await
            .map_err(Error::Auth)?;
        let options = SendOptions {
            timeout: context.timeout,
            max_response_bytes: Some(MAX_PROJECTS_RESPONSE_BYTES),
        };
        let response = context.transport.send(request, &options).await.map_err(|e| {
            Error::Config(failed(format!("IAM at {} did not answer", self.iam_endpoint)).with_source(e))
        })?;
        let status = response.status();
        if status.as_u16() != info.success_status {
            let message = crate::service_error::read(info.id, status, response.headers().clone(), response.body());
            return Err(Error::Config(
                failed(format!(
                    "IAM at {} answered HTTP {}",
                    self.iam_endpoint,
                    status.as_u16()
                ))
                .with_source(message),
            ));
        }
        let projects = parse_projects(response.body()).map_err(|why| Error::Config(failed(why)))?;
        pick_project(region, projects).map_err(|why| Error::Config(failed(why)))
    }

    fn request(&self, context: &LookupContext<'_>) -> Result<http::Request<Bytes>, http::Error> {
        let region = context.region;
        let base = self.iam_endpoint.path().trim_end_matches('/');
        // A region id is letters, digits and hyphens (checked by the builder): nothing to
        // escape in the query.
        let path_and_query = format!("{base}{}?name={region}", LIST_PROJECTS.path_template);
        let uri = Uri::builder()
            .scheme(self.iam_endpoint.scheme_str().unwrap_or("https"))
            .authority(self.iam_endpoint.authority().map_or("", |a| a.as_str()))
            .path_and_query(path_and_query)
            .build()?;
        http::Request::builder()
            .method(LIST_PROJECTS.method.clone())
            .uri(uri)
            .header(header::USER_AGENT, context.user_agent.clone())
            .body(Bytes::new())
    }
}

#[derive(Deserialize)]
struct ProjectList {
    projects: Vec<Project>,
}

#[derive(Debug, Deserialize)]
struct Project {
    id: String,
    name: String,
}

fn parse_projects(body: &[u8]) -> Result<Vec<Project>, String> {
    serde_json::from_slice::<ProjectList>(body)
        .map(|list| list.projects)
        .map_err(|e| format!("IAM's project list is not the documented JSON ({e})"))
}

/// The one project named `region`; none or several is an error, as in the official SDKs.
fn pick_project(region: &str, projects: Vec<Project>) -> Result<String, String> {
    let mut matching: Vec<Project> = projects.into_iter().filter(|p| p.name == region).collect();
    match matching.len() {
        0 => Err(format!("IAM has no project named {region} for these credentials")),
        1 => {
            let id = matching.remove(0).id;
            fgs_urn::check_part(fgs_urn::UrnPart::ProjectId, &id)
                .map_err(|_| format!("IAM gave project id {} which is not a project id", quoted_prefix(&id)))?;
            Ok(id)
        }
        n => Err(format!(
            "IAM has {n} projects named {region} ({}), so which one is meant is not clear",
            matching
                .iter()
                .take(5)
                .map(|p| quoted_prefix(&p.id))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projects(json: &str) -> Vec<Project> {
        parse_projects(json.as_bytes()).unwrap()
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn picks_the_one_project_of_the_region() {
        let list = projects(&format!(
            r#"{{"projects":[{{"id":"{ID}","name":"cn-north-4","enabled":true}},{{"id":"ffffffffffffffffffffffffffffffff","name":"cn-north-4_sub"}}],"links":{{}}}}"#
        ));
        assert_eq!(pick_project("cn-north-4", list).unwrap(), ID);
    }

    #[test]
    fn none_or_several_are_errors_naming_the_region() {
        let none = pick_project("cn-north-4", projects(r#"{"projects":[]}"#)).unwrap_err();
        assert!(none.contains("no project named cn-north-4"), "{none}");
        let two = pick_project(
            "cn-north-4",
            projects(&format!(
                r#"{{"projects":[{{"id":"{ID}","name":"cn-north-4"}},{{"id":"{ID}","name":"cn-north-4"}}]}}"#
            )),
        )
        .unwrap_err();
        assert!(two.contains("2 projects named cn-north-4"), "{two}");
    }

    #[test]
    fn a_malformed_list_or_id_is_an_error() {
        assert!(parse_projects(b"[]").unwrap_err().contains("not the documented JSON"));
        let bad = pick_project("r", projects(r#"{"projects":[{"id":"../x","name":"r"}]}"#)).unwrap_err();
        assert!(bad.contains("not a project id"), "{bad}");
    }
}
