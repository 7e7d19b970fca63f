//! `fgs invoke --local`: the endpoint, region, project and credentials of the running
//! `fgs local`, from the state file it keeps while it runs.

use std::path::PathBuf;

use fgs_emulator::LocalState;

/// A running `fgs local`, as its state file describes it.
pub(crate) struct Local {
    pub(crate) state: LocalState,
    pub(crate) path: PathBuf,
}

impl Local {
    /// Reads the state file and checks that its process still runs. Every failure says
    /// what to do; none waits for the network.
    pub(crate) fn find() -> Result<Local, String> {
        let path = LocalState::default_path().ok_or_else(|| {
            "--local cannot know where `fgs local` keeps its state: neither XDG_RUNTIME_DIR, XDG_CACHE_HOME nor \
             HOME names a directory"
                .to_owned()
        })?;
        let state = LocalState::read(&path).map_err(|error| with_cause(&error))?;
        if state.process_is_alive() == Some(false) {
            return Err(format!(
                "the local FunctionGraph recorded in {} (process {}) is not running any more: start it again with \
                 `fgs local`",
                path.display(),
                state.pid
            ));
        }
        Ok(Local { state, path })
    }

    /// What to add to a connection failure: where the address came from.
    pub(crate) fn hint(&self) -> String {
        format!(
            "{} is where {} says `fgs local` (process {}) listens; is it still running?",
            self.state.endpoint,
            self.path.display(),
            self.state.pid
        )
    }

    /// The variables of `ClientBuilder::from_lookup` this state stands for. Nothing
    /// comes from the process environment for a local call: keys meant for the cloud
    /// are never sent to the emulator.
    pub(crate) fn variables(&self) -> Vec<(&'static str, String)> {
        use fgs::config;
        let state = &self.state;
        let mut variables = vec![
            (config::FUNCTIONGRAPH_ENDPOINT, state.endpoint.clone()),
            (config::REGION, state.region.clone()),
            (config::PROJECT_ID, state.project_id.clone()),
        ];
        if !state.no_auth {
            // AK/SK signing when the emulator accepts keys: the path production uses.
            match (&state.access_key, &state.secret_key, &state.token) {
                (Some(ak), Some(sk), _) => {
                    variables.push((config::ACCESS_KEY, ak.clone()));
                    variables.push((config::SECRET_KEY, sk.clone()));
                }
                (_, _, Some(token)) => variables.push((config::IAM_TOKEN, token.clone())),
                _ => {}
            }
        }
        if let Some(ca_file) = &state.ca_file {
            variables.push((config::CA_FILE, ca_file.to_string_lossy().into_owned()));
        }
        variables
    }

    /// Whether the emulator accepts requests without credentials.
    pub(crate) fn no_auth(&self) -> bool {
        self.state.no_auth
    }

    /// Whether the state names credentials a client can use.
    pub(crate) fn has_credentials(&self) -> bool {
        self.state.no_auth
            || self.state.token.is_some()
            || (self.state.access_key.is_some() && self.state.secret_key.is_some())
    }
}

/// The message and its cause (which `LocalStateError`'s own message leaves out).
fn with_cause(error: &dyn std::error::Error) -> String {
    match error.source() {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}
