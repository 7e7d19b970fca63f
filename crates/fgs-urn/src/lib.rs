//! Function URNs of Huawei Cloud FunctionGraph.
//!
//! A FunctionGraph function is addressed by a URN of the form
//!
//! ```text
//! urn:fss:{region}:{project_id}:function:{package}:{name}[:{qualifier}]
//! ```
//!
//! where the optional qualifier is either a *version* (`latest`, a published
//! version such as `v20240101-120000`, or a custom version name) or an *alias*
//! written with a `!` prefix (`...:hello:!prod`).
//!
//! This crate is the single implementation of the URN rules in the `fgs`
//! workspace: the runtime crate uses it at run time and the proc-macro crate
//! uses it to check URN literals at compile time, which is why it has no
//! dependencies (the optional `serde` feature adds `Serialize` and
//! `Deserialize` for [`FunctionUrn`] and [`FunctionRef`] as plain strings).
//!
//! [`FunctionRef`] is the short form `package/name[:version|:!alias]`, a
//! function without its region and project, which
//! [`resolve`](FunctionRef::resolve) completes into a URN; it is the one
//! parser of that form for the CLI, the macros and the stub runtime.
//!
//! # Example
//!
//! ```
//! use fgs_urn::{FunctionUrn, Qualifier};
//!
//! # fn main() -> Result<(), fgs_urn::UrnError> {
//! let urn: FunctionUrn =
//!     "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest".parse()?;
//!
//! assert_eq!(urn.region(), "cn-north-4");
//! assert_eq!(urn.project_id(), "0123456789abcdef0123456789abcdef");
//! assert_eq!(urn.package(), "default");
//! assert_eq!(urn.name(), "hello");
//! assert_eq!(urn.qualifier(), Some(Qualifier::Version("latest")));
//! assert_eq!(
//!     urn.to_path_segment(),
//!     "urn%3Afss%3Acn-north-4%3A0123456789abcdef0123456789abcdef%3Afunction%3Adefault%3Ahello%3Alatest"
//! );
//!
//! // Aliases are written with `!` and reported without it.
//! let prod = urn.with_qualifier(Qualifier::Alias("prod"))?;
//! assert_eq!(prod.alias(), Some("prod"));
//! assert!(prod.as_str().ends_with(":hello:!prod"));
//!
//! // Errors name the part that is wrong.
//! let err = FunctionUrn::parse("urn:fss:cn-north-4:0123456789abcdef:function:default:9hello")
//!     .unwrap_err();
//! assert_eq!(err.part(), fgs_urn::UrnPart::Name);
//! assert_eq!(
//!     err.to_string(),
//!     r#"invalid function URN: function name "9hello" must start with a letter"#
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # Rules
//!
//! Parsing is exact: no whitespace is trimmed and the prefix is
//! case-sensitive. Every part is checked on its own and the first problem is
//! reported as a [`UrnError`] naming the [`UrnPart`], the [`UrnErrorKind`] and
//! the byte range of the part in the input.
//!
//! | part | length | characters | start | end |
//! |------|--------|------------|-------|-----|
//! | prefix | | exactly `urn:fss:` | | |
//! | region | 2–64 | `a-z 0-9 -` | lowercase letter | lowercase letter or digit |
//! | project id | 1–64 | `A-Z a-z 0-9` | | |
//! | resource type | | exactly `function` | | |
//! | package | 1–64 | `A-Z a-z 0-9 _ -` | | |
//! | function name | 1–60 | `A-Z a-z 0-9 _ -` | letter | letter or digit |
//! | version | 1–64 | `A-Z a-z 0-9 _ . -` | letter or digit | |
//! | alias (after `!`) | 1–64 | `A-Z a-z 0-9 _ -` | letter | letter or digit |
//!
//! The function name rule is the one FunctionGraph documents. The rules for
//! the project id and the package are **not confirmed** by FunctionGraph
//! documentation: real project ids are 32 lowercase hexadecimal digits, but
//! this crate accepts any 1–64 ASCII alphanumerics so that it never rejects a
//! URN the service would accept; likewise the package rule is a permissive
//! guess. The region, version and alias rules cover every value seen in
//! practice (`cn-north-4`, `eu-west-101`, `my-kualalumpur-1`, `ae-ad-1`;
//! `latest`, `v20240101-120000`).
//!
//! A URN without a qualifier is kept distinct from one ending in `:latest`:
//! [`FunctionUrn::qualifier`] returns `None` for it, even though the service
//! invokes `latest` in that case.
//!
//! # Path encoding
//!
//! [`encode_path_segment`] is the one percent-encoding function of the
//! workspace: both the invocation request path ([`FunctionUrn::to_path_segment`])
//! and the AK/SK signer's canonical URI use it, so they can never disagree.
//! [`percent_decode`] (malformed escapes kept literally, as the signer's
//! canonicalisation requires) and [`percent_decode_strict`] (malformed escapes
//! refused, for servers) are its inverse, the one decoder of the workspace.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod decode;
mod encode;
mod error;
mod function_ref;
mod rules;
#[cfg(feature = "serde")]
mod serde_impl;
mod text_identity;
mod urn;

#[cfg(test)]
mod tests;

pub use decode::{percent_decode, percent_decode_strict, percent_escape_at};
pub use encode::{encode_path_segment, encode_path_segment_into, is_unreserved};
pub use error::UrnError;
pub use function_ref::FunctionRef;
pub use rules::{UrnErrorKind, UrnPart};
pub use urn::{FunctionUrn, Qualifier};

/// Checks one part on its own, e.g. a region from configuration or a function name
/// from a `package/name` reference, with the same rules [`FunctionUrn::parse`] applies.
/// The error's span is the byte range within `value`.
///
/// ```
/// use fgs_urn::{UrnPart, check_part};
///
/// assert!(check_part(UrnPart::Region, "cn-north-4").is_ok());
/// let err = check_part(UrnPart::Region, "CN North").unwrap_err();
/// assert_eq!(err.part(), UrnPart::Region);
/// ```
pub fn check_part(part: UrnPart, value: &str) -> Result<(), UrnError> {
    rules::check(part, value).map_err(|kind| UrnError::new(part, kind, 0..value.len(), value))
}
