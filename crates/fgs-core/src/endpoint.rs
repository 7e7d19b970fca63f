//! The one rule for service URLs the SDK sends credentials to (FunctionGraph, IAM): an
//! absolute `https` URL, or plain `http` only to a loopback host (a local emulator)
//! unless the caller explicitly allows it; never a user name or password in the URL.

use http::Uri;

/// Why a URL cannot be used as an endpoint. The text never repeats the URL's user
/// information.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// `user:password@host`: credentials belong in the auth, not the URL.
    #[error(
        "the URL carries a user name or password (user:password@host); credentials go in the auth, never in the URL"
    )]
    UserInfo,
    /// Not an absolute URL.
    #[error("{0:?} is not an absolute URL")]
    NotAUrl(String),
    /// Neither `http` nor `https`.
    #[error("{0:?} must use http or https")]
    Scheme(String),
    /// A query or fragment, which a base URL cannot have.
    #[error("{0:?} must not have a query")]
    Query(String),
    /// Plain `http` to a host that is not loopback.
    #[error(
        "{0:?} uses plain http to a host that is not loopback, which would send credentials unencrypted; use https, \
         or allow insecure http explicitly"
    )]
    InsecureHttp(String),
}

/// Checks `url` against the endpoint rule and parses it.
///
/// ```
/// use fgs_core::endpoint::{EndpointError, parse_endpoint};
///
/// assert!(parse_endpoint("https://functiongraph.cn-north-4.myhuaweicloud.com", false).is_ok());
/// assert!(parse_endpoint("http://127.0.0.1:8000", false).is_ok());
/// assert!(matches!(parse_endpoint("http://fgs.example.com", false), Err(EndpointError::InsecureHttp(_))));
/// assert_eq!(parse_endpoint("https://u:pw@host", false), Err(EndpointError::UserInfo));
/// ```
pub fn parse_endpoint(url: &str, allow_insecure_http: bool) -> Result<Uri, EndpointError> {
    // Before parsing, so that no later message can quote a password.
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(EndpointError::UserInfo);
    }
    let uri: Uri = url.parse().map_err(|_| EndpointError::NotAUrl(url.to_owned()))?;
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(EndpointError::NotAUrl(url.to_owned()));
    };
    if uri.query().is_some() {
        return Err(EndpointError::Query(url.to_owned()));
    }
    match scheme {
        "https" => Ok(uri),
        "http" if allow_insecure_http || is_loopback(host) => Ok(uri),
        "http" => Err(EndpointError::InsecureHttp(url.to_owned())),
        _ => Err(EndpointError::Scheme(url.to_owned())),
    }
}

/// `localhost` or a loopback address (`127.0.0.0/8`, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for ok in [
            "https://x",
            "https://x:8443/base/",
            "http://127.0.0.1:9",
            "http://[::1]:9",
            "http://LOCALHOST",
        ] {
            assert!(parse_endpoint(ok, false).is_ok(), "{ok}");
        }
        assert!(parse_endpoint("http://x", true).is_ok());
        assert_eq!(
            parse_endpoint("http://x", false),
            Err(EndpointError::InsecureHttp("http://x".into()))
        );
        assert_eq!(
            parse_endpoint("ftp://x", false),
            Err(EndpointError::Scheme("ftp://x".into()))
        );
        assert_eq!(
            parse_endpoint("https://x/?a=1", false),
            Err(EndpointError::Query("https://x/?a=1".into()))
        );
        assert_eq!(
            parse_endpoint("not a url", false),
            Err(EndpointError::NotAUrl("not a url".into()))
        );
        assert_eq!(parse_endpoint("x/y", false), Err(EndpointError::NotAUrl("x/y".into())));
        let secret = parse_endpoint("https://user:hunter2@x", false).unwrap_err();
        assert_eq!(secret, EndpointError::UserInfo);
        assert!(!secret.to_string().contains("hunter2"));
    }
}
