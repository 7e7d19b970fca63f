//! Headers the emulator uses that are outside the FunctionGraph API description: IAM's
//! responses and the ECS metadata service. Each is named here once. The invoke API's
//! headers come from the spec (`fgs_core::generated::operations::headers`, and
//! `IAM_TOKEN_HEADER` / `AKSK_SIGNATURE_HEADER` for the two security schemes); the AK/SK
//! signing headers (`X-Sdk-Date`, `X-Security-Token`) from `fgs-signing`.

use http::HeaderName;

/// `X-Subject-Token`: IAM's answer to `POST /v3/auth/tokens` carries the token here.
pub(crate) const X_SUBJECT_TOKEN: HeaderName = HeaderName::from_static("x-subject-token");
/// `X-Idp-Id`: the identity provider of an ID token exchanged for an IAM token.
pub(crate) const X_IDP_ID: HeaderName = HeaderName::from_static("x-idp-id");
/// `X-IAM-Trace-Id`: IAM's id of a request, which the official SDKs quote in their errors.
pub(crate) const X_IAM_TRACE_ID: HeaderName = HeaderName::from_static("x-iam-trace-id");
/// `X-Metadata-Token-Ttl-Seconds`: the lifetime asked of the metadata service's session token.
pub(crate) const X_METADATA_TOKEN_TTL_SECONDS: HeaderName = HeaderName::from_static("x-metadata-token-ttl-seconds");
/// `X-Metadata-Token`: the metadata service's session token.
pub(crate) const X_METADATA_TOKEN: HeaderName = HeaderName::from_static("x-metadata-token");
