//! `#[fgs_function]` and `#[fgs_functions]`: typed FunctionGraph invoke stubs.
//!
//! Use them through the `fgs` crate (`fgs::fgs_function`), whose documentation shows each
//! form and what it expands to. The expansion refers only to `::fgs::__private` (or the
//! path given with `crate = "..."`), reads no files, and checks URNs and option values
//! at compile time with the same rules the runtime uses.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod expand;
mod options;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Turns a bodiless `async fn` into a typed call of one FunctionGraph function.
///
/// See the `fgs` crate for the options and examples.
#[proc_macro_attribute]
pub fn fgs_function(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::function(args.into(), item.into()).into()
}

/// Turns a trait whose `async fn` methods carry `#[function(...)]` into a typed client
/// (`{Trait}Client`) that implements it, so code can depend on the trait and tests can
/// swap in a fake.
///
/// See the `fgs` crate for the options and examples.
#[proc_macro_attribute]
pub fn fgs_functions(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::functions(args.into(), item.into()).into()
}
