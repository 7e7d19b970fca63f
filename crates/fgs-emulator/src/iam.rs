//! IAM's protocol as the emulator serves it, named once: the paths of the token and
//! project-lookup endpoints, the lookup's query parameter, and the wire shape of its
//! answer (the field names of the serialised structs below are IAM's). The token
//! endpoint's handler lives in `auth.rs` with the other credential checks; the project
//! lookup is here.
//!
//! The project lookup is what the official SDKs do when given AK/SK and a region but no
//! project id: an AK/SK-signed `GET {iam}/v3/projects?name={region}` (IAM's
//! `KeystoneListProjects`), reading `projects[0].id` and refusing zero or several
//! projects.

use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;

use crate::auth::iam_error;
use crate::fault::full;
use crate::headers::X_IAM_TRACE_ID;
use crate::ids;
use crate::reply::{APPLICATION_JSON, Reply, json_bytes, response};
use crate::state::Shared;

/// `POST /v3/auth/tokens`: IAM issues a token (`X-Subject-Token`, 201).
pub(crate) const TOKENS_PATH: &str = "/v3/auth/tokens";
/// `POST /v3.0/OS-AUTH/id-token/tokens`: IAM exchanges an OIDC ID token (with `X-Idp-Id`)
/// for an unscoped token (`X-Subject-Token`, 201).
pub(crate) const ID_TOKEN_TOKENS_PATH: &str = "/v3.0/OS-AUTH/id-token/tokens";
/// `POST /v3.0/OS-CREDENTIAL/securitytokens`: IAM issues temporary keys for a token (201).
pub(crate) const SECURITY_TOKENS_PATH: &str = "/v3.0/OS-CREDENTIAL/securitytokens";
/// `GET /v3/projects`: IAM lists the projects the caller may see (`KeystoneListProjects`).
pub(crate) const PROJECTS_PATH: &str = "/v3/projects";
/// The query parameter of [`PROJECTS_PATH`] that keeps only the projects with exactly
/// this name (SDKs send the region id).
pub(crate) const PROJECT_NAME_QUERY: &str = "name";

/// The body of `GET /v3/projects`.
#[derive(Serialize)]
struct ProjectList<'a> {
    /// Paging links of the list.
    links: ListLinks,
    /// The projects that match, in the order configured.
    projects: Vec<Project<'a>>,
}

/// `links` of the list: the request's own URL; the emulator lists everything on one
/// page, so `previous` and `next` are `null`.
#[derive(Serialize)]
struct ListLinks {
    #[serde(rename = "self")]
    own: String,
    previous: Option<String>,
    next: Option<String>,
}

/// One entry of `projects`.
#[derive(Serialize)]
struct Project<'a> {
    /// The project id (what URNs and invoke paths carry).
    id: &'a str,
    /// The project name: SDKs look a region's project up by the region id.
    name: &'a str,
    /// The account (domain) the project belongs to.
    domain_id: &'a str,
    /// The parent: for a region's project, the account.
    parent_id: &'a str,
    enabled: bool,
    is_domain: bool,
    description: &'a str,
    /// `{"self": ".../v3/projects/{id}"}`.
    links: ProjectLinks,
}

/// `links` of a project.
#[derive(Serialize)]
struct ProjectLinks {
    #[serde(rename = "self")]
    own: String,
}

/// The value of `name` in the query, if given (the first one; percent-decoded). `Err` if
/// the query is not valid percent-encoded UTF-8.
fn name_filter(uri: &Uri) -> Result<Option<String>, ()> {
    let Some(query) = uri.query() else {
        return Ok(None);
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            fgs_urn::percent_decode_strict(text.as_bytes())
                .and_then(|bytes| String::from_utf8(bytes.into_owned()).ok())
                .ok_or(())
        };
        if decode(key)? == PROJECT_NAME_QUERY {
            return decode(value).map(Some);
        }
    }
    Ok(None)
}

/// `GET /v3/projects[?name=...]`, the request authenticated: 200 with the configured
/// projects whose name is exactly `name` (all of them without it), in IAM's shape. Links
/// point at the host the request named.
pub(crate) fn list_projects(shared: &Shared, uri: &Uri, headers: &HeaderMap) -> Reply {
    let Ok(filter) = name_filter(uri) else {
        return iam_error(
            StatusCode::BAD_REQUEST,
            "The query string is not valid percent-encoded UTF-8.",
        );
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let base = format!("http://{host}{PROJECTS_PATH}");
    let config = &shared.config;
    let projects = config
        .iam_projects()
        .filter(|(name, _)| filter.as_deref().is_none_or(|wanted| *name == wanted))
        .map(|(name, id)| Project {
            id,
            name,
            domain_id: &config.domain_id,
            parent_id: &config.domain_id,
            enabled: true,
            is_domain: false,
            description: "",
            links: ProjectLinks {
                own: format!("{base}/{id}"),
            },
        })
        .collect();
    let list = ProjectList {
        links: ListLinks {
            own: uri
                .query()
                .map_or_else(|| base.clone(), |query| format!("{base}?{query}")),
            previous: None,
            next: None,
        },
        projects,
    };
    response(
        StatusCode::OK,
        vec![
            (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
            (X_IAM_TRACE_ID, ids::hex32()),
        ],
        full(json_bytes(&list)),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn filter(target: &str) -> Result<Option<String>, ()> {
        name_filter(&target.parse::<Uri>().unwrap())
    }

    #[test]
    fn the_name_filter_is_read_from_the_query() {
        assert_eq!(filter("/v3/projects"), Ok(None));
        assert_eq!(filter("/v3/projects?name=cn-north-4"), Ok(Some("cn-north-4".into())));
        assert_eq!(
            filter("/v3/projects?page=1&name=cn-north-4_dev&name=other"),
            Ok(Some("cn-north-4_dev".into()))
        );
        assert_eq!(filter("/v3/projects?na%6De=a%2Db"), Ok(Some("a-b".into())));
        assert_eq!(filter("/v3/projects?name="), Ok(Some(String::new())));
        assert_eq!(filter("/v3/projects?name"), Ok(Some(String::new())));
        assert_eq!(filter("/v3/projects?names=x"), Ok(None));
        assert_eq!(filter("/v3/projects?name=%zz"), Err(()));
        assert_eq!(filter("/v3/projects?name=%ff"), Err(()));
    }
}
