//! One generator, two modes (write or check), shared by the command and the freshness test.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The spec, relative to the workspace root.
pub const SPEC: &str = "spec/functiongraph.openapi.json";
/// The output directory, relative to the workspace root.
pub const OUTPUT: &str = "crates/fgs-core/src/generated";
/// The command named in each generated file's first line.
pub const COMMAND: &str = "cargo xtask codegen";

/// What `run` does with files that differ from the spec's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite them.
    Write,
    /// Leave them and fail, naming them.
    Check,
}

/// Generates the code for `SPEC` and writes or checks the files under `OUTPUT`.
/// Returns a report of what changed, or an error message naming the stale files.
pub fn run(root: &Path, mode: Mode) -> Result<String, String> {
    let spec_path = root.join(SPEC);
    let spec = fs::read_to_string(&spec_path).map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let settings = fgs_codegen::Settings::new(COMMAND, SPEC);
    let files = fgs_codegen::generate(&spec, &settings).map_err(|e| format!("{SPEC}: {e}"))?;
    let output = root.join(OUTPUT);

    let mut stale = Vec::new();
    for file in &files {
        let path = output.join(&file.path);
        // Compare without carriage returns so a Windows checkout is not "stale".
        let current = fs::read_to_string(&path).ok().map(|text| text.replace("\r\n", "\n"));
        if current.as_deref() != Some(file.contents.as_str()) {
            stale.push(format!("{OUTPUT}/{}", file.path));
        }
    }
    let expected: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut extra = Vec::new();
    if let Ok(entries) = fs::read_dir(&output) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") && !expected.contains(&name.as_str()) {
                extra.push(format!("{OUTPUT}/{name}"));
            }
        }
    }
    extra.sort();

    match mode {
        Mode::Check if stale.is_empty() && extra.is_empty() => Ok(String::new()),
        Mode::Check => {
            let mut message = String::from("generated code is stale:\n");
            for path in &stale {
                let _ = writeln!(message, "  {path} differs from what {SPEC} produces");
            }
            for path in &extra {
                let _ = writeln!(message, "  {path} is not produced by {SPEC}");
            }
            let _ = write!(message, "run `{COMMAND}` and commit the result");
            Err(message)
        }
        Mode::Write => {
            fs::create_dir_all(&output).map_err(|e| format!("cannot create {}: {e}", output.display()))?;
            let mut report = String::new();
            for file in &files {
                let relative = format!("{OUTPUT}/{}", file.path);
                if stale.contains(&relative) {
                    let path = output.join(&file.path);
                    fs::write(&path, &file.contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    let _ = writeln!(report, "updated {relative}");
                }
            }
            for relative in &extra {
                let path = root.join(relative);
                fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
                let _ = writeln!(report, "removed {relative}");
            }
            Ok(report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new(".."))
    }

    /// Fails when someone edits the spec (or the generator) without regenerating.
    #[test]
    fn generated_code_is_fresh() {
        if let Err(message) = run(workspace_root(), Mode::Check) {
            panic!("{message}");
        }
    }

    /// A scratch workspace holding a copy of the spec and nothing generated yet.
    fn scratch(name: &str) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("fgs-xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("spec")).unwrap();
        fs::copy(workspace_root().join(SPEC), root.join(SPEC)).unwrap();
        root
    }

    #[test]
    fn check_names_stale_missing_and_extra_files_and_changes_nothing() {
        let root = scratch("check");
        run(&root, Mode::Write).unwrap();
        assert_eq!(run(&root, Mode::Check), Ok(String::new()));

        let output = root.join(OUTPUT);
        fs::write(output.join("types.rs"), "// edited by hand\n").unwrap();
        fs::remove_file(output.join("error_codes.rs")).unwrap();
        fs::write(output.join("leftover.rs"), "").unwrap();
        let message = run(&root, Mode::Check).unwrap_err();
        assert!(message.contains(&format!("{OUTPUT}/types.rs differs")), "{message}");
        assert!(
            message.contains(&format!("{OUTPUT}/error_codes.rs differs")),
            "{message}"
        );
        assert!(
            message.contains(&format!("{OUTPUT}/leftover.rs is not produced")),
            "{message}"
        );
        assert!(!message.contains("mod.rs"), "{message}");
        assert!(
            message.ends_with("run `cargo xtask codegen` and commit the result"),
            "{message}"
        );
        // Check mode wrote nothing.
        assert_eq!(
            fs::read_to_string(output.join("types.rs")).unwrap(),
            "// edited by hand\n"
        );

        let report = run(&root, Mode::Write).unwrap();
        assert!(
            report.contains("updated crates/fgs-core/src/generated/types.rs"),
            "{report}"
        );
        assert!(
            report.contains("removed crates/fgs-core/src/generated/leftover.rs"),
            "{report}"
        );
        assert_eq!(run(&root, Mode::Check), Ok(String::new()));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_spec_change_makes_the_tree_stale() {
        let root = scratch("spec-change");
        run(&root, Mode::Write).unwrap();
        let spec = fs::read_to_string(root.join(SPEC)).unwrap();
        let changed = spec.replace(
            r#""memorySize": { "type": "integer""#,
            r#""memorySize": { "type": "number""#,
        );
        assert_ne!(spec, changed);
        fs::write(root.join(SPEC), changed).unwrap();
        let message = run(&root, Mode::Check).unwrap_err();
        assert!(message.contains(&format!("{OUTPUT}/types.rs differs")), "{message}");
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_broken_spec_is_reported_with_its_location() {
        let root = scratch("broken");
        fs::write(
            root.join(SPEC),
            r#"{"openapi": "3.0.3", "info": {"title": "t"}, "paths": {}}"#,
        )
        .unwrap();
        let message = run(&root, Mode::Check).unwrap_err();
        assert_eq!(
            message,
            format!("{SPEC}: spec error at /info: missing required field `version`")
        );
        let _ = fs::remove_dir_all(&root);
    }
}
