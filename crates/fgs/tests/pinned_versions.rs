//! The facade requires `fgs-macros` and `fgs-core` with exact versions, because macro
//! expansions build `fgs_core::stub::Spec` by struct literal: a caret requirement would let
//! a newer `fgs-core` break an older expansion (see the `fgs_core::stub` module docs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

/// The `version = "..."` requirement of `dependency` on its line in `manifest`, if any.
fn requirement(manifest: &str, dependency: &str) -> Option<String> {
    let line = manifest.lines().find(|line| {
        let line = line.trim_start();
        line.starts_with(&format!("{dependency} ")) || line.starts_with(&format!("{dependency}."))
    })?;
    let after = line.split_once("version = \"")?.1;
    Some(after.split('"').next()?.to_owned())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn macros_and_stub_runtime_are_pinned_exactly() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = read(&crate_dir.join("Cargo.toml"));
    let workspace = read(&crate_dir.join("../../Cargo.toml"));
    for dependency in ["fgs-core", "fgs-macros"] {
        let line_here = own
            .lines()
            .find(|line| line.trim_start().starts_with(dependency))
            .unwrap();
        let required = if line_here.contains(".workspace = true") || line_here.contains("workspace = true") {
            requirement(&workspace, dependency)
        } else {
            requirement(&own, dependency)
        };
        let required = required.unwrap_or_else(|| panic!("no version requirement for {dependency}"));
        assert!(
            required.starts_with('='),
            "crates/fgs must require {dependency} exactly (\"={}\"), found {required:?}: macro expansions \
             build fgs_core::stub::Spec by struct literal",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(
            required.trim_start_matches('='),
            env!("CARGO_PKG_VERSION"),
            "{dependency}"
        );
    }
}
