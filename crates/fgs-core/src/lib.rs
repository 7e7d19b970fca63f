//! fgs-core
// prettyplease formats the generated files; rustfmt would disagree with it on details.
#[rustfmt::skip]
pub mod generated;
pub mod protocol;
