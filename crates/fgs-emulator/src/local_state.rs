//! The state file of a running `fgs local` (or `fgs-emulator`): where it listens and which
//! credentials it accepts, so that `fgs invoke --local` in another terminal can call it
//! without copied exports.
//!
//! The file lives in a per-user directory ([`LocalState::default_path`]), is readable by its
//! owner only, is replaced atomically, and is removed when the emulator that wrote it stops.

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

/// What a running `fgs local` / `fgs-emulator` records for `fgs invoke --local`.
///
/// `Debug` shows the token and the secret key as `<redacted>`.
///
/// ```no_run
/// use fgs_emulator::LocalState;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = LocalState::default_path().ok_or("no runtime or cache directory")?;
/// let state = LocalState::read(&path)?;
/// if state.process_is_alive() == Some(false) {
///     eprintln!("the emulator at {} has stopped", state.endpoint);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocalState {
    /// The process id of the emulator ([`std::process::id`]).
    pub pid: u32,
    /// Where it listens, e.g. `http://127.0.0.1:8000` (`https://` with `--tls`).
    pub endpoint: String,
    /// The region of its URNs.
    pub region: String,
    /// The project id of its URNs.
    pub project_id: String,
    /// It was started with `--no-auth` and accepts requests without credentials.
    #[serde(default)]
    pub no_auth: bool,
    /// An accepted `X-Auth-Token`, if any (the first one).
    #[serde(default)]
    pub token: Option<String>,
    /// An accepted access key (with [`secret_key`](Self::secret_key)), if any.
    #[serde(default)]
    pub access_key: Option<String>,
    /// The secret key of [`access_key`](Self::access_key).
    #[serde(default)]
    pub secret_key: Option<String>,
    /// The PEM file of the self-signed certificate it serves with `--tls`, for clients to
    /// trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for LocalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const REDACTED: &str = "<redacted>";
        f.debug_struct("LocalState")
            .field("pid", &self.pid)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("project_id", &self.project_id)
            .field("no_auth", &self.no_auth)
            .field("token", &self.token.as_ref().map(|_| REDACTED))
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| REDACTED))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl LocalState {
    /// The name of the state file in its directory.
    pub const FILE_NAME: &'static str = "local.json";

    /// The largest state file [`read`](Self::read) accepts, in bytes.
    pub const MAX_BYTES: u64 = 64 * 1024;

    /// Where `fgs local` writes its state file: `$XDG_RUNTIME_DIR/fgs/local.json`, else
    /// `$XDG_CACHE_HOME/fgs/local.json`, else `$HOME/.cache/fgs/local.json`
    /// (`%LOCALAPPDATA%\fgs\local.json` on Windows). Only a base directory given as an
    /// absolute path that exists counts; `None` when there is none. Creates nothing.
    pub fn default_path() -> Option<PathBuf> {
        state_dir_candidates()
            .into_iter()
            .next()
            .map(|dir| dir.join(Self::FILE_NAME))
    }

    /// Reads the state file at `path`: at most [`MAX_BYTES`](Self::MAX_BYTES) of JSON.
    pub fn read(path: &Path) -> Result<LocalState, LocalStateError> {
        // Opening a FIFO or a device could block or never end: only a regular file is read.
        match std::fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => {
                return Err(LocalStateError::Unreadable(
                    path.to_owned(),
                    io::Error::other("it is not a regular file"),
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LocalStateError::NotFound(path.to_owned()));
            }
            Err(e) => return Err(LocalStateError::Unreadable(path.to_owned(), e)),
        }
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LocalStateError::NotFound(path.to_owned()));
            }
            Err(e) => return Err(LocalStateError::Unreadable(path.to_owned(), e)),
        };
        let mut bytes = Vec::new();
        file.take(Self::MAX_BYTES.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| LocalStateError::Unreadable(path.to_owned(), e))?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > Self::MAX_BYTES {
            return Err(LocalStateError::TooLarge(path.to_owned()));
        }
        serde_json::from_slice(&bytes).map_err(|e| LocalStateError::Malformed(path.to_owned(), e))
    }

    /// Writes the state to `path`, readable and writable by its owner only (mode 0600 on
    /// Unix), replacing an earlier file at once: the JSON goes to a temporary file in the
    /// same directory, which is then renamed over `path`, so a reader never sees half a
    /// file. A missing directory is created (mode 0700 on Unix); an existing one is used as
    /// it is.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let file_name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the state file's path has no file name"))?;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;

        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(file_name);
        temp_name.push(format!(".{}.{}.tmp", std::process::id(), crate::ids::hex32()));
        let temp = dir.join(temp_name);
        let written = write_private_file(&temp, &json).and_then(|()| std::fs::rename(&temp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }

    /// Whether the recorded process still runs: `Some(false)` when it is certainly gone,
    /// `Some(true)` when a process with that id exists (which, after the id was reused,
    /// may be another program), `None` when this cannot be known. Known on Linux (from
    /// `/proc`, when it is mounted); `None` elsewhere.
    pub fn process_is_alive(&self) -> Option<bool> {
        #[cfg(target_os = "linux")]
        {
            // `/proc/self` exists whenever procfs is mounted; an empty `/proc` proves nothing.
            if !Path::new("/proc/self").exists() {
                return None;
            }
            match std::fs::metadata(format!("/proc/{}", self.pid)) {
                Ok(_) => Some(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Some(false),
                Err(_) => None,
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }
}

/// Creates `path` (which must not exist), mode 0600 on Unix whatever the umask, with
/// `bytes` in it, flushed to disk.
fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The per-user directories (`…/fgs`) where the state file and the `--tls` certificate
/// go, best first: under `$XDG_RUNTIME_DIR`, `$XDG_CACHE_HOME` and `$HOME/.cache`
/// (`%LOCALAPPDATA%` on Windows), for each base directory given as an absolute path that
/// exists. Creates nothing.
pub(crate) fn state_dir_candidates() -> Vec<PathBuf> {
    #[cfg(windows)]
    let bases = [std::env::var_os("LOCALAPPDATA").map(PathBuf::from)];
    #[cfg(not(windows))]
    let bases = [
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")),
    ];
    bases
        .into_iter()
        .flatten()
        .filter(|base| base.is_absolute() && base.is_dir())
        .map(|base| base.join("fgs"))
        .collect()
}

/// Why a state file could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum LocalStateError {
    /// There is no state file at this path: no `fgs local` is running (or it runs with
    /// another runtime or cache directory).
    NotFound(PathBuf),
    /// The file is larger than [`LocalState::MAX_BYTES`]: not a state file.
    TooLarge(PathBuf),
    /// The file exists but cannot be read.
    Unreadable(PathBuf, io::Error),
    /// The file is not a state file's JSON.
    Malformed(PathBuf, serde_json::Error),
}

impl LocalStateError {
    /// The path of the state file.
    pub fn path(&self) -> &Path {
        match self {
            LocalStateError::NotFound(path)
            | LocalStateError::TooLarge(path)
            | LocalStateError::Unreadable(path, _)
            | LocalStateError::Malformed(path, _) => path,
        }
    }
}

impl fmt::Display for LocalStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path().display();
        match self {
            LocalStateError::NotFound(_) => write!(
                f,
                "no local FunctionGraph is running (no {path}): start one with `fgs local`"
            ),
            LocalStateError::TooLarge(_) => write!(
                f,
                "{path} is larger than {} KiB, so it is not the state file of `fgs local`: remove it and start \
                 `fgs local` again",
                LocalState::MAX_BYTES / 1024
            ),
            LocalStateError::Unreadable(..) => write!(
                f,
                "cannot read {path}, the state file of `fgs local`: check its permissions, or start `fgs local` again"
            ),
            LocalStateError::Malformed(..) => write!(
                f,
                "{path} is not a valid state file of `fgs local`: start `fgs local` again to rewrite it"
            ),
        }
    }
}

impl std::error::Error for LocalStateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LocalStateError::Unreadable(_, e) => Some(e),
            LocalStateError::Malformed(_, e) => Some(e),
            LocalStateError::NotFound(_) | LocalStateError::TooLarge(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    /// A fresh directory under the temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("fgs-local-state-test-{}", crate::ids::hex32()));
            std::fs::create_dir(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn sample() -> LocalState {
        LocalState {
            pid: std::process::id(),
            endpoint: "https://127.0.0.1:8000".into(),
            region: "cn-north-4".into(),
            project_id: "0123456789abcdef0123456789abcdef".into(),
            no_auth: false,
            token: Some("local-token-secret".into()),
            access_key: Some("AKLOCAL".into()),
            secret_key: Some("sk-very-secret".into()),
            ca_file: Some(PathBuf::from("/run/user/1000/fgs/local-8000.pem")),
        }
    }

    #[test]
    fn round_trips_through_a_private_file_in_a_private_directory() {
        let temp = TempDir::new();
        let path = temp.0.join("nested").join("fgs").join(LocalState::FILE_NAME);
        let state = sample();
        state.write(&path).unwrap();
        assert_eq!(LocalState::read(&path).unwrap(), state);

        // Written again over an existing file, with another state.
        let mut other = sample();
        other.endpoint = "http://127.0.0.1:9000".into();
        other.token = None;
        other.ca_file = None;
        other.write(&path).unwrap();
        assert_eq!(LocalState::read(&path).unwrap(), other);

        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [LocalState::FILE_NAME]);

        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for key in [
            "pid",
            "endpoint",
            "region",
            "project_id",
            "no_auth",
            "token",
            "access_key",
            "secret_key",
            "ca_file",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_0600_and_a_new_directory_0700() {
        use std::os::unix::fs::PermissionsExt as _;

        let temp = TempDir::new();
        let dir = temp.0.join("fgs");
        let path = dir.join(LocalState::FILE_NAME);
        sample().write(&path).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);

        // An existing, more open file and directory: the directory is used as it is, the
        // file becomes 0600.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        sample().write(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o755);
    }

    #[test]
    fn reads_are_bounded() {
        let temp = TempDir::new();
        let path = temp.0.join(LocalState::FILE_NAME);
        let too_large = usize::try_from(LocalState::MAX_BYTES).unwrap() + 1;
        std::fs::write(&path, vec![b' '; too_large]).unwrap();
        let error = LocalState::read(&path).unwrap_err();
        assert!(matches!(error, LocalStateError::TooLarge(_)), "{error:?}");
        assert!(error.to_string().contains(&path.display().to_string()), "{error}");

        // Whitespace up to the limit is still read (and is not JSON).
        std::fs::write(&path, vec![b' '; too_large - 1]).unwrap();
        assert!(matches!(LocalState::read(&path), Err(LocalStateError::Malformed(..))));

        // Endless devices and FIFOs (whose open would wait for a writer) are not read.
        #[cfg(unix)]
        {
            let error = LocalState::read(Path::new("/dev/zero")).unwrap_err();
            assert!(matches!(error, LocalStateError::Unreadable(..)), "{error:?}");
            let fifo = temp.0.join("fifo.json");
            if std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .is_ok_and(|s| s.success())
            {
                let error = LocalState::read(&fifo).unwrap_err();
                assert!(matches!(error, LocalStateError::Unreadable(..)), "{error:?}");
            }
        }
    }

    #[test]
    fn errors_name_the_path_and_what_to_do() {
        use std::error::Error as _;

        let temp = TempDir::new();
        let missing = temp.0.join(LocalState::FILE_NAME);
        let error = LocalState::read(&missing).unwrap_err();
        assert!(matches!(error, LocalStateError::NotFound(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!(
                "no local FunctionGraph is running (no {}): start one with `fgs local`",
                missing.display()
            )
        );
        assert!(error.source().is_none());

        std::fs::write(&missing, "{\"pid\": 1").unwrap();
        let error = LocalState::read(&missing).unwrap_err();
        assert!(matches!(error, LocalStateError::Malformed(..)), "{error:?}");
        assert!(error.to_string().contains("fgs local"), "{error}");
        assert!(error.source().is_some());

        // A directory cannot be read as a file.
        let error = LocalState::read(&temp.0).unwrap_err();
        assert!(matches!(error, LocalStateError::Unreadable(..)), "{error:?}");
        assert!(error.source().is_some());
        assert_eq!(error.path(), temp.0);
    }

    #[test]
    fn debug_hides_the_token_and_the_secret_key() {
        let state = sample();
        let debug = format!("{state:?}");
        assert!(!debug.contains("local-token-secret"), "{debug}");
        assert!(!debug.contains("sk-very-secret"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(debug.contains("AKLOCAL"), "{debug}");
        assert!(debug.contains("https://127.0.0.1:8000"), "{debug}");
    }

    #[test]
    fn missing_optional_fields_and_unknown_fields_are_accepted() {
        let state: LocalState = serde_json::from_str(
            r#"{"pid": 7, "endpoint": "http://127.0.0.1:1", "region": "r", "project_id": "p", "future": 1}"#,
        )
        .unwrap();
        assert_eq!(state.pid, 7);
        assert!(!state.no_auth);
        assert_eq!(state.token, None);
    }

    #[test]
    fn knows_whether_the_process_runs() {
        let ours = sample();
        let mut child = std::process::Command::new(if cfg!(windows) { "cmd" } else { "true" })
            .args(if cfg!(windows) { &["/C", "exit"][..] } else { &[][..] })
            .spawn()
            .unwrap();
        let gone_pid = child.id();
        child.wait().unwrap();
        let gone = LocalState {
            pid: gone_pid,
            ..sample()
        };
        if cfg!(target_os = "linux") {
            assert_eq!(ours.process_is_alive(), Some(true));
            assert_eq!(gone.process_is_alive(), Some(false));
        } else {
            assert_eq!(ours.process_is_alive(), None);
            assert_eq!(gone.process_is_alive(), None);
        }
    }

    #[test]
    fn the_default_path_is_under_an_existing_absolute_directory() {
        for dir in state_dir_candidates() {
            assert!(dir.is_absolute(), "{}", dir.display());
            assert!(dir.parent().unwrap().is_dir(), "{}", dir.display());
            assert!(dir.ends_with("fgs"));
        }
        if let Some(path) = LocalState::default_path() {
            assert!(path.ends_with(Path::new("fgs").join(LocalState::FILE_NAME)));
        }
    }
}
