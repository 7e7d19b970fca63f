//! Credentials from the shared credentials file of Huawei's SDKs (`~/.huaweicloud/credentials`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::auth::{AuthError, Secret};
use async_trait::async_trait;

use crate::auth::credentials::{Credentials, ProvideCredentials};
use crate::auth::environment::{Lookup, non_empty, process_environment};
use crate::auth::federated::FederatedCredentials;

/// The section the official SDKs read for project-scoped ("basic") credentials.
const BASIC_SECTION: &str = "basic";
/// configparser's section of defaults for every other section.
const DEFAULT_SECTION: &str = "DEFAULT";

/// Credentials from the shared credentials file that Huawei's official SDKs read.
///
/// The file is `$HUAWEICLOUD_SDK_CREDENTIALS_FILE` if that variable is set, else
/// `~/.huaweicloud/credentials` (home from `HOME`, or `USERPROFILE` on Windows). It is
/// an INI file; the `[basic]` section (or the one named by `$HUAWEICLOUD_SDK_PROFILE` or
/// [`section`](Self::section)) holds the keys read here:
///
/// ```ini
/// [basic]
/// ak = AK-EXAMPLE
/// sk = SK-EXAMPLE
/// project_id = 0123456789abcdef0123456789abcdef
/// # security_token = ... (temporary credentials)
/// ```
///
/// The file is read as Python's `configparser` reads it: `key = value` or `key: value`,
/// keys case-insensitive, section names case-sensitive, whole-line comments starting
/// with `#` or `;`, surrounding whitespace trimmed, indented lines continuing the
/// previous value, and `[DEFAULT]` supplying values for every section. Unlike
/// configparser, values are taken literally (no `%(name)s` interpolation, `%%` stays
/// `%%`); `#` inside a value is part of the value, as in configparser.
///
/// A section with `idp_id` and `id_token_file` is a federated identity, as in the official
/// SDKs (whatever its `ak` and `sk` say): its temporary keys come from IAM
/// ([`federated`](Self::federated), a [`FederatedCredentials`]) at `iam_endpoint` of the
/// section, else `$HUAWEICLOUD_SDK_IAM_ENDPOINT`, else `https://iam.myhuaweicloud.com`,
/// and [`provide_credentials`](ProvideCredentials::provide_credentials) returns them,
/// renewed before they expire:
///
/// ```ini
/// [basic]
/// idp_id = my-idp
/// id_token_file = /var/run/secrets/tokens/oidc-token
/// ```
///
/// Not supported, and ignored: `domain_id` and the `[global]` section (global services).
///
/// The file is read at the first successful use and kept; failures are not kept, so a
/// file created later is found on the next call.
///
/// ```
/// use fgs_core::auth::ProfileCredentials;
///
/// let profile = ProfileCredentials::from_path("/nonexistent/credentials");
/// let err = profile.credentials().unwrap_err();
/// assert_eq!(err.to_string(), "/nonexistent/credentials does not exist");
/// ```
///
/// Other sections can hold other keys (named profiles, an fgs extension: the official SDKs
/// read `[basic]` only), chosen with `HUAWEICLOUD_SDK_PROFILE` or [`section`](Self::section):
///
/// ```ini
/// [staging]
/// ak = AK-STAGING
/// sk = SK-STAGING
/// ```
#[derive(Clone)]
pub struct ProfileCredentials {
    /// Where the file is, or why it cannot be known.
    path: Result<PathBuf, String>,
    /// The section read.
    section: String,
    /// IAM of a federated identity when the section names none.
    iam_endpoint: Option<String>,
    loaded: Arc<OnceLock<Profile>>,
}

impl fmt::Debug for ProfileCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileCredentials")
            .field("path", &self.path.as_ref().ok())
            .field("section", &self.section)
            .finish_non_exhaustive()
    }
}

impl Default for ProfileCredentials {
    fn default() -> Self {
        Self::new()
    }
}

/// What the section holds.
#[derive(Clone)]
struct Profile {
    keys: Keys,
    project_id: Option<String>,
}

/// The keys of a section.
#[derive(Clone)]
enum Keys {
    /// `ak`, `sk` (and `security_token`).
    Static(Credentials),
    /// `idp_id` and `id_token_file`.
    Federated(FederatedCredentials),
}

impl ProfileCredentials {
    /// The variable naming the credentials file.
    pub const FILE_VAR: &'static str = crate::config::CREDENTIALS_FILE;
    /// The variable naming the section read, `[basic]` when unset.
    pub const PROFILE_VAR: &'static str = crate::config::PROFILE;
    /// The largest credentials file read: 1 MiB. A larger file (or an endless one such as
    /// `/dev/zero`) is an [`Invalid`](crate::auth::AuthErrorKind::Invalid) error, found
    /// after reading at most this much.
    pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

    /// The file the official SDKs read, located through the process environment (which
    /// also names the section, `$HUAWEICLOUD_SDK_PROFILE`, `[basic]` by default).
    pub fn new() -> Self {
        Self::locate(&process_environment())
    }

    /// The file the official SDKs read, located through `lookup` (`None`: unset) instead
    /// of the process environment, for tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self::from_shared_lookup(Arc::new(lookup))
    }

    pub(crate) fn from_shared_lookup(lookup: Lookup) -> Self {
        Self::locate(&lookup)
    }

    /// The `[basic]` section of the file at `path`.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        ProfileCredentials {
            path: Ok(path.into()),
            section: BASIC_SECTION.to_owned(),
            iam_endpoint: None,
            loaded: Arc::default(),
        }
    }

    /// Reads section `[name]` instead (a named profile).
    ///
    /// ```
    /// use fgs_core::auth::ProfileCredentials;
    ///
    /// let dir = std::env::temp_dir().join(format!("fgs-profile-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("credentials");
    /// std::fs::write(&path, "[basic]\nak = AK1\nsk = SK1\n\n[staging]\nak = AK2\nsk = SK2\n")?;
    /// let staging = ProfileCredentials::from_path(&path).section("staging");
    /// assert_eq!(staging.credentials()?.access_key(), "AK2");
    /// let missing = ProfileCredentials::from_path(&path).section("prod").credentials().unwrap_err();
    /// assert!(missing.to_string().ends_with("there is no [prod] section"), "{missing}");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn section(mut self, name: impl Into<String>) -> Self {
        self.section = name.into();
        self.loaded = Arc::default();
        self
    }

    /// The section read.
    pub fn section_name(&self) -> &str {
        &self.section
    }

    fn locate(lookup: &Lookup) -> Self {
        let home_var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
        let path = match (non_empty(lookup, Self::FILE_VAR), non_empty(lookup, home_var)) {
            (Some(file), _) => Ok(PathBuf::from(file)),
            (None, Some(home)) => Ok(Path::new(&home).join(".huaweicloud").join("credentials")),
            (None, None) => Err(format!("neither {} nor {home_var} is set", Self::FILE_VAR)),
        };
        let section = non_empty(lookup, Self::PROFILE_VAR).unwrap_or_else(|| BASIC_SECTION.to_owned());
        ProfileCredentials {
            path,
            section,
            iam_endpoint: non_empty(lookup, crate::config::IAM_ENDPOINT),
            loaded: Arc::default(),
        }
    }

    /// The path of the file; `None` when it cannot be known (no home directory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref().ok()
    }

    /// The credentials of the section.
    ///
    /// Errors name the file and what is missing: the file
    /// ([`Missing`](crate::auth::AuthErrorKind::Missing)), the section or a key
    /// (`Missing`), a line that is not INI
    /// ([`Invalid`](crate::auth::AuthErrorKind::Invalid)), or a read failure
    /// ([`Provider`](crate::auth::AuthErrorKind::Provider)).
    ///
    /// A federated section has no keys of its own: this fails
    /// ([`Invalid`](crate::auth::AuthErrorKind::Invalid)) saying so; use
    /// [`provide_credentials`](ProvideCredentials::provide_credentials) or
    /// [`federated`](Self::federated).
    pub fn credentials(&self) -> Result<Credentials, AuthError> {
        match self.load()?.keys {
            Keys::Static(credentials) => Ok(credentials),
            Keys::Federated(_) => Err(AuthError::invalid(format!(
                "[{}] is a federated identity (idp_id, id_token_file), whose keys come from IAM",
                self.section
            ))),
        }
    }

    /// The federated identity of the section, if it is one (`idp_id` with
    /// `id_token_file`), reading the file if it has not been read yet; the same one
    /// (sharing its cache) on every call.
    pub fn federated(&self) -> Result<Option<FederatedCredentials>, AuthError> {
        Ok(match self.load()?.keys {
            Keys::Federated(federated) => Some(federated),
            Keys::Static(_) => None,
        })
    }

    /// The `project_id` of the section, if it has one (reading the file if it
    /// has not been read yet).
    pub fn project_id(&self) -> Result<Option<String>, AuthError> {
        Ok(self.load()?.project_id)
    }

    fn load(&self) -> Result<Profile, AuthError> {
        if let Some(profile) = self.loaded.get() {
            return Ok(profile.clone());
        }
        let path = self.path.as_ref().map_err(|why| AuthError::missing(why.clone()))?;
        let shown = path.display();
        let bytes = match read_limited(path, Self::MAX_FILE_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return Err(AuthError::invalid(format!(
                    "{shown} is larger than {} bytes, which is too large for a credentials file",
                    Self::MAX_FILE_BYTES
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AuthError::missing(format!("{shown} does not exist")));
            }
            Err(e) => return Err(AuthError::provider(format!("cannot read {shown}")).with_source(e)),
        };
        let text = String::from_utf8(bytes).map_err(|_| AuthError::invalid(format!("{shown} is not UTF-8 text")))?;
        let ini = Ini::parse(&text).map_err(|e| AuthError::invalid(format!("{shown}, line {}: {}", e.line, e.what)))?;
        let profile = profile_from(&ini, &self.section, self.iam_endpoint.as_deref())
            .map_err(|what| AuthError::missing(format!("{shown}: {what}")))?;
        // Another caller may have stored the same file's contents first; either is fine.
        let _ = self.loaded.set(profile.clone());
        Ok(profile)
    }
}

/// The contents of `path`, or `None` when it holds more than `limit` bytes; never reads
/// more than `limit + 1` bytes, whatever the file is (an endless device, a huge file).
fn read_limited(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The credentials of section `[section]`, or what is missing. `iam_endpoint` is IAM for
/// a federated identity when the section names none.
fn profile_from(ini: &Ini, section: &str, iam_endpoint: Option<&str>) -> Result<Profile, String> {
    if !ini.has_section(section) {
        return Err(format!("there is no [{section}] section"));
    }
    let get = |key: &str| ini.get(section, key).map(str::trim).filter(|value| !value.is_empty());
    let project_id = get("project_id").map(str::to_owned);
    // As in the official SDKs, a federated identity wins over keys.
    if let (Some(idp_id), Some(file)) = (get("idp_id"), get("id_token_file")) {
        let mut federated = FederatedCredentials::new(idp_id, file);
        match (get("iam_endpoint"), iam_endpoint) {
            (Some(url), _) => {
                federated = federated.with_iam_endpoint_from(url, &format!("iam_endpoint of [{section}]"))
            }
            (None, Some(url)) => federated = federated.with_iam_endpoint_from(url, crate::config::IAM_ENDPOINT),
            (None, None) => {}
        }
        return Ok(Profile {
            keys: Keys::Federated(federated),
            project_id,
        });
    }
    let credentials = match (get("ak"), get("sk")) {
        (Some(ak), Some(sk)) => match get("security_token") {
            Some(token) => Credentials::temporary(ak, sk, token, None),
            None => Credentials::new(ak, sk),
        },
        (None, None) if get("idp_id").is_some() => return Err(format!("[{section}] has idp_id but no id_token_file")),
        (None, None) if get("id_token_file").is_some() => {
            return Err(format!("[{section}] has id_token_file but no idp_id"));
        }
        (None, None) => return Err(format!("[{section}] has no ak and no sk")),
        (None, Some(_)) => return Err(format!("[{section}] has no ak")),
        (Some(_), None) => return Err(format!("[{section}] has no sk")),
    };
    Ok(Profile {
        keys: Keys::Static(credentials),
        project_id,
    })
}

#[async_trait]
impl ProvideCredentials for ProfileCredentials {
    /// The keys of the section, or the federated identity's temporary keys.
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        match self.load()?.keys {
            Keys::Static(credentials) => Ok(credentials),
            Keys::Federated(federated) => federated.provide_credentials().await,
        }
    }
}

/// A line of an INI file that is not INI.
#[derive(Debug, PartialEq, Eq)]
struct IniError {
    line: usize,
    what: String,
}

/// An INI file as configparser reads it (without interpolation). Values are [`Secret`]s
/// because the file holds secret keys; nothing here prints a value.
#[derive(Default)]
struct Ini {
    /// Section name → lowercase key → value.
    sections: HashMap<String, HashMap<String, Secret>>,
}

impl Ini {
    fn parse(text: &str) -> Result<Ini, IniError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut ini = Ini::default();
        let mut section: Option<String> = None;
        // The key a continuation line extends, and the indentation of its line.
        let mut last_key: Option<(String, usize)> = None;
        // Empty lines since the last line with text.
        let mut blank_lines = 0;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |what: String| IniError { line, what };
            let stripped = raw.trim();
            if stripped.is_empty() {
                // Kept inside a value if a continuation line follows, as in configparser.
                blank_lines += 1;
                continue;
            }
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            let indent = raw.len() - raw.trim_start().len();
            if let (Some((key, key_indent)), Some(name)) = (&last_key, &section) {
                if indent > *key_indent {
                    if let Some(value) = ini.sections.get_mut(name).and_then(|keys| keys.get_mut(key)) {
                        let blank = "\n".repeat(blank_lines);
                        *value = Secret::new(format!("{}{blank}\n{stripped}", value.expose()));
                    }
                    blank_lines = 0;
                    continue;
                }
            }
            blank_lines = 0;
            if let Some(name) = stripped.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
                if name.is_empty() {
                    return Err(error("a section header needs a name".into()));
                }
                if ini.sections.contains_key(name) {
                    return Err(error(format!("section [{name}] appears twice")));
                }
                ini.sections.insert(name.to_owned(), HashMap::new());
                section = Some(name.to_owned());
                last_key = None;
                continue;
            }
            let Some(split) = stripped.find(['=', ':']) else {
                return Err(error("expected `[section]`, `key = value` or a comment".into()));
            };
            let key = stripped[..split].trim().to_lowercase();
            let value = stripped[split + 1..].trim();
            if key.is_empty() {
                return Err(error("a key is missing before the `=`".into()));
            }
            let Some(name) = &section else {
                return Err(error(format!("`{key}` comes before any [section] header")));
            };
            let keys = ini.sections.entry(name.clone()).or_default();
            if keys.contains_key(&key) {
                return Err(error(format!("`{key}` appears twice in [{name}]")));
            }
            keys.insert(key.clone(), Secret::new(value));
            last_key = Some((key, indent));
        }
        Ok(ini)
    }

    /// Whether the file has section `name` (`[DEFAULT]` does not count, as in configparser).
    fn has_section(&self, name: &str) -> bool {
        name != DEFAULT_SECTION && self.sections.contains_key(name)
    }

    /// The value of `key` (any case) in `section`, or else in `[DEFAULT]`.
    fn get(&self, section: &str, key: &str) -> Option<&str> {
        let key = key.to_lowercase();
        [section, DEFAULT_SECTION]
            .iter()
            .find_map(|name| self.sections.get(*name).and_then(|keys| keys.get(&key)))
            .map(Secret::expose)
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::AuthErrorKind;

    use super::*;

    fn parse(text: &str) -> Ini {
        Ini::parse(text).unwrap()
    }

    #[test]
    fn reads_sections_keys_and_comments() {
        let ini =
            parse("# a comment\n; another\n[basic]\n  ak = AK1\n  SK=SK1  \nProject_ID :  p1\n\n[global]\nak = AK2\n");
        assert_eq!(ini.get("basic", "ak"), Some("AK1"));
        assert_eq!(ini.get("basic", "sk"), Some("SK1"));
        assert_eq!(ini.get("basic", "project_id"), Some("p1"), "keys are lowercased");
        assert_eq!(ini.get("global", "ak"), Some("AK2"));
        assert_eq!(ini.get("basic", "security_token"), None);
    }

    #[test]
    fn values_keep_inline_hashes_and_later_delimiters() {
        let ini = parse("[basic]\nsk = abc#def ; not a comment\nurl = https://example.com:443/x=y\nempty =\n");
        assert_eq!(ini.get("basic", "sk"), Some("abc#def ; not a comment"));
        assert_eq!(ini.get("basic", "url"), Some("https://example.com:443/x=y"));
        assert_eq!(ini.get("basic", "empty"), Some(""));
    }

    #[test]
    fn section_names_are_case_sensitive() {
        let ini = parse("[BASIC]\nak = a\nsk = b\n");
        assert!(!ini.has_section("basic"));
        assert!(ini.has_section("BASIC"));
    }

    #[test]
    fn indented_lines_continue_the_value() {
        let ini = parse("[basic]\nak = first\n  second\n\n   third\n\nsk = x\n  [not a section]\n");
        assert_eq!(ini.get("basic", "ak"), Some("first\nsecond\n\nthird"));
        assert_eq!(ini.get("basic", "sk"), Some("x\n[not a section]"));
        // As in configparser, an indented key after a key continues that key's value.
        let ini = parse("[basic]\nak = a\n  sk = b\n");
        assert_eq!(ini.get("basic", "ak"), Some("a\nsk = b"));
        assert_eq!(ini.get("basic", "sk"), None);
    }

    #[test]
    fn default_section_fills_in() {
        let ini = parse("[DEFAULT]\nproject_id = p0\n[basic]\nak = a\n");
        assert_eq!(ini.get("basic", "project_id"), Some("p0"));
        assert!(!ini.has_section("DEFAULT"));
    }

    #[test]
    fn crlf_and_bom() {
        let ini = parse("\u{feff}[basic]\r\nak = a\r\nsk = b\r\n");
        assert_eq!(ini.get("basic", "ak"), Some("a"));
        assert_eq!(ini.get("basic", "sk"), Some("b"));
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let err = Ini::parse("[basic]\nak = a\njust words\n").err().unwrap();
        assert_eq!(err.line, 3);
        let err = Ini::parse("ak = a\n").err().unwrap();
        assert_eq!(
            err,
            IniError {
                line: 1,
                what: "`ak` comes before any [section] header".into()
            }
        );
        let err = Ini::parse("[basic]\nak = a\nAK = b\n").err().unwrap();
        assert_eq!(err.what, "`ak` appears twice in [basic]");
        let err = Ini::parse("[basic]\n[basic]\n").err().unwrap();
        assert_eq!(err.line, 2);
        assert_eq!(Ini::parse("[basic]\n= x\n").err().unwrap().line, 2);
        assert_eq!(Ini::parse("[]\n").err().unwrap().line, 1);
    }

    #[test]
    fn profile_needs_ak_and_sk() {
        let profile = |text: &str| profile_from(&parse(text), BASIC_SECTION, None);
        let ok = profile("[basic]\nak = a\nsk = b\nproject_id = p\nsecurity_token = t\ndomain_id = d\n")
            .ok()
            .unwrap();
        let Keys::Static(credentials) = &ok.keys else {
            panic!("keys expected")
        };
        assert_eq!(credentials.access_key(), "a");
        assert_eq!(credentials.security_token().map(Secret::expose), Some("t"));
        assert_eq!(ok.project_id.as_deref(), Some("p"));
        assert_eq!(
            profile("[global]\nak = a\n").err().unwrap(),
            "there is no [basic] section"
        );
        assert_eq!(profile("[basic]\nak = a\nsk =\n").err().unwrap(), "[basic] has no sk");
        assert_eq!(profile("[basic]\nsk = b\n").err().unwrap(), "[basic] has no ak");
        assert_eq!(
            profile("[basic]\nproject_id = p\n").err().unwrap(),
            "[basic] has no ak and no sk"
        );
        assert_eq!(
            profile("[basic]\nidp_id = i\n").err().unwrap(),
            "[basic] has idp_id but no id_token_file"
        );
        assert_eq!(
            profile("[basic]\nid_token_file = /f\n").err().unwrap(),
            "[basic] has id_token_file but no idp_id"
        );
    }

    #[test]
    fn a_federated_identity_wins_over_keys_and_names_its_iam() {
        let profile = |text: &str, iam| profile_from(&parse(text), BASIC_SECTION, iam);
        let federated = profile(
            "[basic]\nak = a\nsk = b\nidp_id = my-idp\nid_token_file = /t\nproject_id = p\n",
            None,
        )
        .ok()
        .unwrap();
        let Keys::Federated(identity) = &federated.keys else {
            panic!("a federated identity expected")
        };
        assert_eq!(identity.idp_id(), "my-idp");
        assert_eq!(identity.id_token_file(), Path::new("/t"));
        assert_eq!(federated.project_id.as_deref(), Some("p"));
        let debug = |text: &str, iam| match profile(text, iam).ok().unwrap().keys {
            Keys::Federated(identity) => format!("{identity:?}"),
            Keys::Static(_) => panic!("a federated identity expected"),
        };
        let text = "[basic]\nidp_id = i\nid_token_file = /t\n";
        assert!(debug(text, None).contains("iam.myhuaweicloud.com"));
        assert!(debug(text, Some("http://127.0.0.1:9")).contains("127.0.0.1:9"));
        let own = "[basic]\nidp_id = i\nid_token_file = /t\niam_endpoint = http://127.0.0.2:9\n";
        assert!(
            debug(own, Some("http://127.0.0.1:9")).contains("127.0.0.2:9"),
            "the file's wins"
        );
    }

    #[test]
    fn locates_the_file_like_the_official_sdks() {
        let home = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
        let explicit = ProfileCredentials::from_lookup(|name| {
            (name == "HUAWEICLOUD_SDK_CREDENTIALS_FILE").then(|| "/etc/hc/credentials".to_owned())
        });
        assert_eq!(explicit.path(), Some(Path::new("/etc/hc/credentials")));
        let home_only = ProfileCredentials::from_lookup(move |name| (name == home).then(|| "/home/u".to_owned()));
        assert_eq!(
            home_only.path(),
            Some(Path::new("/home/u").join(".huaweicloud").join("credentials").as_path())
        );
        let nothing = ProfileCredentials::from_lookup(|_| None);
        assert_eq!(nothing.path(), None);
        let err = nothing.credentials().unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Missing);
        assert_eq!(
            err.to_string(),
            format!("neither HUAWEICLOUD_SDK_CREDENTIALS_FILE nor {home} is set")
        );
    }

    #[test]
    fn missing_file_is_named() {
        let err = ProfileCredentials::from_path("/nonexistent/dir/credentials")
            .credentials()
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Missing);
        assert_eq!(err.to_string(), "/nonexistent/dir/credentials does not exist");
    }

    #[test]
    fn an_endless_file_is_refused_quickly() {
        let started = std::time::Instant::now();
        let err = ProfileCredentials::from_path("/dev/zero").credentials().unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Invalid);
        assert_eq!(
            err.to_string(),
            "/dev/zero is larger than 1048576 bytes, which is too large for a credentials file"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn the_size_limit_is_exact() {
        let dir = std::env::temp_dir().join(format!("fgs-auth-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = "[basic]\nak = a\nsk = b\n";
        let limit = usize::try_from(ProfileCredentials::MAX_FILE_BYTES).unwrap();
        // Pad with a comment line to exactly the limit, then one byte more.
        let fits = format!("{header}#{}\n", "x".repeat(limit - header.len() - 2));
        assert_eq!(fits.len(), limit);
        let path = dir.join("fits");
        std::fs::write(&path, &fits).unwrap();
        assert_eq!(
            ProfileCredentials::from_path(&path).credentials().unwrap().access_key(),
            "a"
        );
        let path = dir.join("too-large");
        std::fs::write(&path, format!("{fits}\n")).unwrap();
        let err = ProfileCredentials::from_path(&path).credentials().unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Invalid);
        assert!(err.to_string().contains("larger than 1048576 bytes"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_is_a_read_error() {
        let err = ProfileCredentials::from_path(std::env::temp_dir())
            .credentials()
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Provider, "{err}");
    }

    #[test]
    fn debug_shows_the_path_and_section_only() {
        let profile = ProfileCredentials::from_path("/x/credentials");
        assert_eq!(
            format!("{profile:?}"),
            r#"ProfileCredentials { path: Some("/x/credentials"), section: "basic", .. }"#
        );
    }

    #[test]
    fn the_profile_variable_names_the_section() {
        let dir = std::env::temp_dir().join(format!("fgs-profile-var-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials");
        std::fs::write(
            &path,
            "[basic]\nak = AK1\nsk = SK1\n[ci]\nak = AK2\nsk = SK2\nproject_id = p2\n",
        )
        .unwrap();
        let file = path.to_string_lossy().into_owned();
        let lookup = |profile: Option<&'static str>| {
            let file = file.clone();
            ProfileCredentials::from_lookup(move |name| match name {
                crate::config::CREDENTIALS_FILE => Some(file.clone()),
                crate::config::PROFILE => profile.map(str::to_owned),
                _ => None,
            })
        };
        assert_eq!(lookup(None).credentials().unwrap().access_key(), "AK1");
        assert_eq!(lookup(Some("  ")).section_name(), "basic", "empty counts as unset");
        let ci = lookup(Some("ci"));
        assert_eq!(ci.credentials().unwrap().access_key(), "AK2");
        assert_eq!(ci.project_id().unwrap().as_deref(), Some("p2"));
        let error = lookup(Some("prod")).credentials().unwrap_err();
        assert!(error.to_string().ends_with("there is no [prod] section"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
