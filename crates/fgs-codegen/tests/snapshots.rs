//! Snapshots of the generated code for the real spec and for each fixture spec.
//! Review changes with `cargo insta review`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::path::Path;

fn render(spec_path: &Path) -> String {
    let spec = std::fs::read_to_string(spec_path).unwrap();
    let settings = fgs_codegen::Settings::new("cargo xtask codegen", "<spec>");
    let files = fgs_codegen::generate(&spec, &settings).unwrap();
    let mut out = String::new();
    for file in files {
        out.push_str(&format!("==> {} <==\n{}\n", file.path, file.contents));
    }
    out
}

#[test]
fn functiongraph_spec() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/functiongraph.openapi.json");
    insta::assert_snapshot!("functiongraph", render(&spec));
}

#[test]
fn fixture_keywords_and_headers() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keywords_and_headers.json");
    insta::assert_snapshot!("keywords_and_headers", render(&spec));
}

#[test]
fn fixture_minimal() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minimal.json");
    insta::assert_snapshot!("minimal", render(&spec));
}
