//! The rule that keeps the spec the only source of protocol facts: hand-written library
//! code never spells a FunctionGraph error code (`FSS.`, `APIGW.`) or an `X-Cff-` header;
//! it names the generated constants instead. Tests, docs and `generated/` may.

use std::fs;
use std::path::{Path, PathBuf};

/// What may not appear in hand-written library code outside comments (compared
/// case-insensitively, anywhere in a line: inside a longer string too).
const FORBIDDEN: &[&str] = &["fss.0", "fss.1", "apigw.0", "x-cff-"];

/// One place that breaks the rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    /// File, relative to the workspace root.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// The line as written.
    pub text: String,
}

/// Every protocol literal in the library sources under `root/crates/*/src`, skipping
/// `generated/`, comments and everything from a `#[cfg(test)]` line to the end of a
/// file (this workspace keeps unit tests at the end of each file).
pub fn find(root: &Path) -> Result<Vec<Finding>, String> {
    let mut findings = Vec::new();
    let crates = root.join("crates");
    let entries = fs::read_dir(&crates).map_err(|e| format!("cannot list {}: {e}", crates.display()))?;
    for entry in entries {
        let source = entry.map_err(|e| e.to_string())?.path().join("src");
        if source.is_dir() {
            scan_dir(root, &source, &mut findings)?;
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(findings)
}

fn scan_dir(root: &Path, dir: &Path, findings: &mut Vec<Finding>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            if name != "generated" && name != "tests" {
                scan_dir(root, &path, findings)?;
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            scan_file(root, &path, findings)?;
        }
    }
    Ok(())
}

fn scan_file(root: &Path, path: &Path, findings: &mut Vec<Finding>) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for (index, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        let lower = code.to_ascii_lowercase();
        if FORBIDDEN.iter().any(|literal| lower.contains(literal)) {
            findings.push(Finding {
                file: path.strip_prefix(root).unwrap_or(path).to_path_buf(),
                line: index + 1,
                text: line.trim().to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_code_names_protocol_facts_only_through_the_generated_module() {
        let findings = find(&crate::workspace_root()).unwrap();
        let listed: Vec<String> = findings
            .iter()
            .map(|f| format!("{}:{}: {}", f.file.display(), f.line, f.text))
            .collect();
        assert!(
            listed.is_empty(),
            "protocol literals outside the generated module (use fgs_core::generated::operations::headers, \
             ErrorCode, or the catalogue):\n{}",
            listed.join("\n")
        );
    }

    #[test]
    fn the_rule_sees_code_and_skips_comments_tests_and_generated_files() {
        let root = std::env::temp_dir().join(format!("fgs-literals-{}", std::process::id()));
        let src = root.join("crates/demo/src");
        fs::create_dir_all(src.join("generated")).unwrap();
        fs::write(
            src.join("lib.rs"),
            "// \"X-Cff-Request-Id\" in a comment\nconst A: &str = \"FSS.0429\";\n#[cfg(test)]\nconst B: &str = \"x-cff-log-type\";\n",
        )
        .unwrap();
        fs::write(src.join("generated/mod.rs"), "const C: &str = \"APIGW.0301\";\n").unwrap();
        let findings = find(&root).unwrap();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].line, 2);
        let _ = fs::remove_dir_all(&root);
    }
}
