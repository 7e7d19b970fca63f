//! Network settings of the default transport: connect timeout.

use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::transport::Transport;

/// What [`ClientBuilder`](crate::ClientBuilder) keeps for the default transport.
#[derive(Debug, Default, Clone)]
pub(crate) struct NetworkSettings {
    pub(crate) connect_timeout: Option<Duration>,
}

/// The transport a client gets when none is given.
#[cfg(feature = "reqwest")]
pub(crate) fn default_transport(settings: &NetworkSettings) -> Result<Arc<dyn Transport>, ConfigError> {
    let connect_timeout = settings.connect_timeout.unwrap_or(crate::DEFAULT_CONNECT_TIMEOUT);
    let transport = crate::transport::ReqwestTransport::new(connect_timeout).map_err(|e| ConfigError::new("cannot build the default transport").with_source(e))?;
    Ok(Arc::new(transport))
}

/// The transport a client gets when none is given.
#[cfg(not(feature = "reqwest"))]
pub(crate) fn default_transport(_settings: &NetworkSettings) -> Result<Arc<dyn Transport>, ConfigError> {
    Err(ConfigError::new(
        "no transport: enable the `reqwest` feature or call transport(...)",
    ))
}
