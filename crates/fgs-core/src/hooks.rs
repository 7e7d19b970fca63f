//! Synchronous hooks around each attempt: add a header, record a metric, look at a
//! response. Work that needs `.await` belongs in a [`Transport`](crate::transport::Transport)
//! or an [`Auth`](crate::auth::Auth).

use std::fmt;

use bytes::Bytes;

use crate::protocol::OperationInfo;

/// What a hook knows about the attempt.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct HookContext<'a> {
    /// The operation.
    pub operation: &'a OperationInfo,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
}

/// Called around each attempt. Both methods default to doing nothing.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use fgs_core::hooks::{Hook, HookContext};
///
/// /// Counts responses by status class and tags requests with a tenant header.
/// #[derive(Debug, Default)]
/// struct Metrics { errors: AtomicU64 }
///
/// impl Hook for Metrics {
///     fn before_send(
///         &self,
///         request: &mut http::Request<bytes::Bytes>,
///         _context: &HookContext<'_>,
///     ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         request.headers_mut().insert("x-tenant", http::HeaderValue::from_static("blue"));
///         Ok(())
///     }
///
///     fn after_response(&self, response: &http::Response<bytes::Bytes>, _context: &HookContext<'_>) {
///         if !response.status().is_success() {
///             self.errors.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait Hook: Send + Sync + fmt::Debug {
    /// Before the request is authenticated and sent (so headers added here are signed).
    /// An error stops the call; nothing is sent.
    fn before_send(
        &self,
        _request: &mut http::Request<Bytes>,
        _context: &HookContext<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }

    /// After a response arrived, whatever its status, before it is interpreted.
    fn after_response(&self, _response: &http::Response<Bytes>, _context: &HookContext<'_>) {}
}
