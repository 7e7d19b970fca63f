//! The state the [`Emulator`](crate::Emulator) handle shares with the connection tasks:
//! the settings fixed at start, and the registered functions, fault rules, records and
//! issued secrets that change while it runs.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq as _;
use tokio::sync::{Notify, Semaphore};

use crate::fault::{Fault, FaultRule, FaultSite};
use crate::function::Function;
use crate::ids;
use crate::record::{InvocationRecord, RecordLimits, Records};
use crate::time;

/// At most this many issued tokens, temporary keys and metadata session tokens are
/// remembered at once (expired ones are pruned first, then the oldest).
pub(crate) const MAX_ISSUED: usize = 10_000;

/// An access key pair the emulator accepts.
#[derive(Clone)]
pub(crate) struct AccessKey {
    pub(crate) secret: String,
    /// Required as `X-Security-Token` for temporary keys.
    pub(crate) security_token: Option<String>,
}

/// An IAM user that may obtain tokens.
#[derive(Clone)]
pub(crate) struct IamUser {
    pub(crate) domain: String,
    pub(crate) name: String,
    pub(crate) password: String,
}

/// A project IAM lists (`GET /v3/projects`).
#[derive(Clone)]
pub(crate) struct IamProject {
    pub(crate) name: String,
    pub(crate) id: String,
}

/// An identity provider and an ID token IAM accepts from it.
#[derive(Clone)]
pub(crate) struct FederatedIdentity {
    pub(crate) idp_id: String,
    pub(crate) id_token: String,
}

/// An agency STS lets assume through a provider with an ID token.
#[derive(Clone)]
pub(crate) struct OidcAgency {
    pub(crate) provider_urn: String,
    pub(crate) agency_urn: String,
    pub(crate) id_token: String,
}

/// Settings fixed at start.
pub(crate) struct Config {
    pub(crate) project_id: String,
    pub(crate) region: String,
    pub(crate) auth_required: bool,
    pub(crate) access_keys: HashMap<String, AccessKey>,
    pub(crate) iam_users: Vec<IamUser>,
    /// Whether IAM lists the emulator's own project (named after the region, with the
    /// project id).
    pub(crate) own_iam_project: bool,
    /// The other projects IAM lists.
    pub(crate) iam_projects: Vec<IamProject>,
    /// The account (domain) id of the projects IAM lists.
    pub(crate) domain_id: String,
    pub(crate) token_lifetime: Duration,
    /// Called with each finished run.
    pub(crate) observer: Option<Observer>,
    /// Lifetime of temporary credentials from the metadata endpoints; `None`: no metadata.
    pub(crate) metadata_lifetime: Option<Duration>,
    /// ID tokens IAM exchanges for tokens (`POST /v3.0/OS-AUTH/id-token/tokens`).
    pub(crate) federated_identities: Vec<FederatedIdentity>,
    /// Agencies STS lets assume with OIDC (`POST /v5/agencies/assume-with-oidc`).
    pub(crate) oidc_agencies: Vec<OidcAgency>,
    /// `Authorization` tokens the pod identity endpoint accepts; none: no endpoint.
    pub(crate) pod_identity_tokens: Vec<String>,
    /// Lifetime of the temporary keys issued by IAM's `securitytokens`, STS and the pod
    /// identity endpoint; `None`: what the request asks (pod identity: 1 hour).
    pub(crate) temporary_lifetime: Option<Duration>,
    /// What the records keep.
    pub(crate) records: RecordLimits,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) max_connections: usize,
}

impl Config {
    /// The projects IAM lists, as `(name, id)`: the emulator's own first (unless turned
    /// off), then the others in the order added.
    pub(crate) fn iam_projects(&self) -> impl Iterator<Item = (&str, &str)> {
        let own = self
            .own_iam_project
            .then_some((self.region.as_str(), self.project_id.as_str()));
        own.into_iter().chain(
            self.iam_projects
                .iter()
                .map(|project| (project.name.as_str(), project.id.as_str())),
        )
    }
}

/// A callback for finished runs.
pub(crate) type Observer = Arc<dyn Fn(&InvocationRecord) + Send + Sync>;

/// A registered function and its concurrency slots.
pub(crate) struct Registered {
    pub(crate) function: Function,
    pub(crate) slots: Option<Arc<Semaphore>>,
}

/// Mutable state.
pub(crate) struct State {
    pub(crate) functions: HashMap<(String, String), Registered>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) records: Records,
    /// Accepted tokens and when they expire (`None`: never, for configured tokens).
    pub(crate) tokens: HashMap<SecretKey, Option<SystemTime>>,
    /// Temporary access keys handed out by the metadata endpoint, and when they expire.
    pub(crate) temporary_keys: HashMap<String, (AccessKey, SystemTime)>,
    /// Session tokens of the metadata endpoint and when they expire, oldest first.
    pub(crate) metadata_tokens: VecDeque<(String, SystemTime)>,
}

/// Makes room in a full store of issued secrets: drops the expired, then (if still full)
/// the one expiring first, so that it holds fewer than [`MAX_ISSUED`]. Until the store is
/// full, expired entries are kept, so that a request carrying one is told it expired
/// (`APIGW.0307`, which makes clients renew) as the gateway does, not that it is unknown.
fn prune<K: Clone + Eq + std::hash::Hash, V>(
    store: &mut HashMap<K, V>,
    now: SystemTime,
    expiry: impl Fn(&V) -> Option<SystemTime>,
) {
    if store.len() < MAX_ISSUED {
        return;
    }
    store.retain(|_, value| expiry(value).is_none_or(|at| at > now));
    while store.len() >= MAX_ISSUED {
        let first = store
            .iter()
            .filter_map(|(key, value)| expiry(value).map(|at| (at, key)))
            .min_by_key(|(at, _)| *at)
            .map(|(_, key)| key.clone());
        match first {
            Some(key) => {
                store.remove(&key);
            }
            // Only configured (never-expiring) entries are left: they stay.
            None => break,
        }
    }
}

impl State {
    /// Empty state for `config`.
    pub(crate) fn new(config: &Config) -> Self {
        State {
            functions: HashMap::new(),
            faults: Vec::new(),
            records: Records::new(config.records),
            tokens: HashMap::new(),
            temporary_keys: HashMap::new(),
            metadata_tokens: VecDeque::new(),
        }
    }

    /// Remembers a metadata session token until `expires_at`.
    pub(crate) fn add_metadata_token(&mut self, token: String, expires_at: SystemTime) {
        let now = SystemTime::now();
        self.metadata_tokens.retain(|(_, at)| *at > now);
        while self.metadata_tokens.len() >= MAX_ISSUED {
            self.metadata_tokens.pop_front();
        }
        self.metadata_tokens.push_back((token, expires_at));
    }

    /// Whether `token` is a live metadata session token (compared in constant time).
    pub(crate) fn metadata_token_valid(&self, token: &str) -> bool {
        let now = SystemTime::now();
        self.metadata_tokens.iter().fold(false, |found, (t, at)| {
            found | (secret_eq(t.as_bytes(), token.as_bytes()) && *at > now)
        })
    }

    pub(crate) fn add_function(&mut self, function: Function) {
        let slots = function.max_concurrency.map(|max| Arc::new(Semaphore::new(max)));
        self.functions.insert(
            (function.package.clone(), function.name.clone()),
            Registered { function, slots },
        );
    }

    /// Takes the first fault rule that applies, using up one of its repetitions.
    pub(crate) fn take_fault(&mut self, site: &FaultSite<'_>) -> Option<Fault> {
        // A rule with no repetitions left (`times(.., 0)`) applies to nothing; a
        // probabilistic rule that does not fire leaves the request to the next rule.
        let index = self.faults.iter().position(|rule| rule.fires_for(site))?;
        let rule = self.faults.get_mut(index)?;
        let fault = rule.fault.clone();
        match &mut rule.remaining {
            Some(1) => {
                self.faults.remove(index);
            }
            Some(n) => *n = n.saturating_sub(1),
            None => {}
        }
        Some(fault)
    }
}

/// State shared between the [`Emulator`] handle and the connection tasks.
pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
    /// Woken whenever a run finishes.
    pub(crate) finished: Notify,
    /// Connections accepted so far.
    pub(crate) connections: std::sync::atomic::AtomicUsize,
}

impl Shared {
    /// Shares `state` under `config`.
    pub(crate) fn new(config: Config, state: State) -> Self {
        Shared {
            config,
            state: Mutex::new(state),
            finished: Notify::new(),
            connections: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Locks the state. Poisoning is ignored: no code panics while holding the lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues temporary credentials (access key, secret key, security token) valid for
    /// `lifetime`.
    pub(crate) fn issue_temporary_key(&self, lifetime: Duration) -> (String, String, String, SystemTime) {
        let access_key = format!(
            "TMPAK{}",
            ids::hex32().get(..15).unwrap_or_default().to_ascii_uppercase()
        );
        let secret_key = ids::hex32();
        let security_token = format!("emu-sts-{}{}", ids::hex32(), ids::hex32());
        let now = SystemTime::now();
        let expires_at = time::system_time_after(now, time::clamp_duration(lifetime));
        let key = AccessKey {
            secret: secret_key.clone(),
            security_token: Some(security_token.clone()),
        };
        let mut state = self.lock();
        prune(&mut state.temporary_keys, now, |(_, at)| Some(*at));
        state.temporary_keys.insert(access_key.clone(), (key, expires_at));
        (access_key, secret_key, security_token, expires_at)
    }

    /// Issues a token valid for the configured lifetime.
    pub(crate) fn issue_token(&self) -> (String, SystemTime) {
        let token = format!("MIIemu{}", ids::hex32());
        let now = SystemTime::now();
        let expires_at = time::system_time_after(now, self.config.token_lifetime);
        let mut state = self.lock();
        prune(&mut state.tokens, now, |at| *at);
        state.tokens.insert(SecretKey(token.clone()), Some(expires_at));
        (token, expires_at)
    }
}

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// A secret used as a map key: hashed like a string (with the map's random keys), but
/// compared in constant time.
#[derive(Clone)]
pub(crate) struct SecretKey(pub(crate) String);

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        secret_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SecretKey {}

impl std::hash::Hash for SecretKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn secrets_compare_by_value() {
        assert!(secret_eq(b"token", b"token"));
        assert!(!secret_eq(b"token", b"tokem"));
        assert!(!secret_eq(b"token", b"token2"));
        let mut map = std::collections::HashMap::new();
        map.insert(SecretKey("a".into()), 1);
        assert_eq!(map.get(&SecretKey("a".into())), Some(&1));
        assert_eq!(map.get(&SecretKey("b".into())), None);
    }
}
