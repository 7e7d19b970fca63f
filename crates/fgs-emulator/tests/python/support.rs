//! Finding Python and installing Huawei's official SDK, for every test that runs it.
//!
//! Included with `#[path]` by `crates/fgs-emulator/tests/official_python_sdk.rs`,
//! `tests/tests/official_sdk_credentials.rs` and
//! `crates/fgs-signing/tests/python_differential.rs`, so the rules (Python 3.8+ with pip; a
//! missing prerequisite fails unless `FGS_SKIP_PYTHON=1`; the pins of `requirements.txt`
//! installed once) are written once.

#![allow(dead_code)] // each test uses what it needs

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The opt-out: set to `1` to skip the official-SDK tests on purpose.
pub const SKIP_VAR: &str = "FGS_SKIP_PYTHON";

/// The first of `python3` and `python` that is Python 3.8+ with pip, or why there is none.
pub fn python() -> Result<String, String> {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let version_ok = ["-c", "import sys; assert sys.version_info >= (3, 8)"];
    let candidates: Vec<&str> = ["python3", "python"]
        .into_iter()
        .filter(|candidate| runs(candidate, &version_ok))
        .collect();
    match candidates
        .iter()
        .find(|candidate| runs(candidate, &["-m", "pip", "--version"]))
    {
        Some(python) => Ok((*python).to_owned()),
        None if candidates.is_empty() => Err("no Python 3.8+ on PATH (tried python3 and python)".to_owned()),
        None => Err(format!("{} has no pip (`{0} -m pip --version` failed)", candidates[0])),
    }
}

/// Python with pip, or `None` (printing `SKIPPED`) when `what` is skipped on purpose; fails
/// the test otherwise, saying what to install.
pub fn python_or_skip(what: &str) -> Option<String> {
    match python() {
        Ok(python) => Some(python),
        Err(missing) if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") => {
            println!("SKIPPED ({SKIP_VAR}=1): {what} did not run: {missing}");
            None
        }
        Err(missing) => panic!(
            "{what} needs Python 3.8+ with pip: {missing}. Install them (e.g. `apt-get install python3 \
             python3-pip`), or set {SKIP_VAR}=1 to skip it on purpose."
        ),
    }
}

/// Installs the pins of `requirements` into `target` with pip, unless they are installed
/// there already; returns `target`, for `PYTHONPATH`.
pub fn install_sdk(python: &str, requirements: &Path, target: PathBuf) -> PathBuf {
    let pins = std::fs::read_to_string(requirements).expect("read the requirements file");
    let marker = target.join(".installed-requirements.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(pins.as_str()) {
        return target;
    }
    let _ = std::fs::remove_dir_all(&target);
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
        ])
        .arg(&target)
        .arg("-r")
        .arg(requirements)
        .status()
        .expect("run pip");
    assert!(status.success(), "pip could not install {}", requirements.display());
    std::fs::write(&marker, pins).expect("write the marker");
    target
}
