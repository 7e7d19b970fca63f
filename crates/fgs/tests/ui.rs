//! Compile-fail and compile-pass tests of `#[fgs_function]` and `#[fgs_functions]`: each
//! mistake gets one clear error at the right span, and every supported form compiles.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// test code: a failure should stop the test

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
