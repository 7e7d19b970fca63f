//! The stub options: `#[fgs_function(urn = "...", log, memory = 512, ...)]`.
//!
//! Every problem is collected (not just the first), each with the span of what is wrong.

use fgs_urn::{FunctionRef, Qualifier, UrnErrorKind, UrnPart};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{Expr, LitBool, LitInt, LitStr, Path};

/// Collects errors so that all of them are reported together.
#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, message));
    }

    /// An error underlining all of `tokens` (not only their first token).
    pub fn push_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn push_error(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many errors there are, to tell whether a step added any.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn to_compile_errors(&self) -> TokenStream {
        self.0.iter().map(syn::Error::to_compile_error).collect()
    }
}

/// How the result is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Decoded into the output type; a raised error is `Err`.
    Json,
    /// The raw `InvokeOutput`.
    Raw,
    /// A function behind API Gateway: `body` decoded, a non-2xx `statusCode` is `Err`.
    ApiGateway,
}

/// The function a stub calls.
pub enum Target {
    /// `urn = "..."`, checked (and kept as the literal, for its span).
    Urn(LitStr),
    /// `function = "package/name"` with `version`/`alias` folded in, checked.
    Function(FunctionRef),
}

pub struct Options {
    pub target: Option<Target>,
    pub log_tail: bool,
    pub response_version: Option<LitStr>,
    pub memory: Option<LitInt>,
    pub timeout_ms: Option<u64>,
    pub idempotent: bool,
    pub output: Output,
    pub krate: Option<Path>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: None,
            log_tail: false,
            response_version: None,
            memory: None,
            timeout_ms: None,
            idempotent: false,
            output: Output::Json,
            krate: None,
        }
    }
}

pub const OPTION_NAMES: &str =
    "urn, function, version, alias, log, response_version, memory, timeout, idempotent, output, crate";

impl Options {
    /// The path of the facade crate in the expansion.
    pub fn krate(&self) -> TokenStream {
        krate_tokens(self.krate.as_ref())
    }
}

/// The path of the facade crate: the `crate = "..."` path, or `::fgs`.
pub fn krate_tokens(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::fgs),
    }
}

/// The options that name the function, read before they are combined into a [`Target`].
#[derive(Default)]
struct TargetOptions {
    urn: Option<LitStr>,
    function: Option<LitStr>,
    version: Option<LitStr>,
    alias: Option<LitStr>,
}

/// Reads `key = value` pairs and flags.
pub fn parse(args: TokenStream, errors: &mut Errors, call_site: Span) -> Options {
    let mut options = Options::default();
    let mut target = TargetOptions::default();
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let name = option_name(&meta.path);
        if seen.contains(&name) {
            errors.push(meta.path.span(), format!("`{name}` is given twice"));
        }
        seen.push(name.clone());
        read_option(&name, &meta, &mut options, &mut target, errors)
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push_error(error);
    }
    options.target = combine_target(target, errors, call_site);
    options
}

/// The option's name; `crate` is a keyword, so it is not an `Ident`.
fn option_name(path: &Path) -> String {
    path.get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| path.to_token_stream().to_string())
}

/// Reads the value of option `name` into `options` or `target`.
fn read_option(
    name: &str,
    meta: &ParseNestedMeta<'_>,
    options: &mut Options,
    target: &mut TargetOptions,
    errors: &mut Errors,
) -> syn::Result<()> {
    match name {
        "urn" => target.urn = Some(meta.value()?.parse()?),
        "function" => target.function = Some(meta.value()?.parse()?),
        "version" => target.version = Some(meta.value()?.parse()?),
        "alias" => target.alias = Some(meta.value()?.parse()?),
        "log" => options.log_tail = flag(meta)?,
        "idempotent" => options.idempotent = flag(meta)?,
        "response_version" => options.response_version = Some(meta.value()?.parse()?),
        "memory" => options.memory = Some(meta.value()?.parse()?),
        "timeout" => options.timeout_ms = timeout(meta, errors)?.or(options.timeout_ms),
        "output" => options.output = output(meta, errors)?,
        "crate" => options.krate = crate_path(meta, errors)?.or(options.krate.take()),
        _ => {
            errors.push(
                meta.path.span(),
                format!("unknown option `{name}`; expected one of: {OPTION_NAMES}"),
            );
            skip_value(meta)?;
        }
    }
    Ok(())
}

/// Skips an unknown option's value, so that the options after it are still read.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: Expr = meta.value()?.parse()?;
    }
    Ok(())
}

/// `timeout = "30s"`, in milliseconds; `None` (with an error) if it is not a duration.
fn timeout(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<u64>> {
    let text: LitStr = meta.value()?.parse()?;
    Ok(match parse_duration_ms(&text.value()) {
        Ok(ms) => Some(ms),
        Err(message) => {
            errors.push(text.span(), message);
            None
        }
    })
}

/// `output = "json" | "raw" | "api_gateway"`.
fn output(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Output> {
    let text: LitStr = meta.value()?.parse()?;
    Ok(match text.value().as_str() {
        "json" => Output::Json,
        "raw" => Output::Raw,
        "api_gateway" => Output::ApiGateway,
        other => {
            errors.push(
                text.span(),
                format!("unknown output mode `{other}`; expected \"json\", \"raw\" or \"api_gateway\""),
            );
            Output::Json
        }
    })
}

/// `crate = "path"`: the one reader of this option, for both attributes. `None` (with an
/// error) if the string is not a path.
fn crate_path(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<Path>> {
    let text: LitStr = meta.value()?.parse()?;
    Ok(match text.parse::<Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            errors.push(text.span(), "`crate` must be a path, e.g. \"my_sdk::fgs\"");
            None
        }
    })
}

/// The arguments of `#[fgs_functions(...)]`: only `crate = "..."`.
pub fn parse_trait_args(args: TokenStream, errors: &mut Errors) -> Option<Path> {
    let mut krate = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            krate = crate_path(&meta, errors)?.or(krate.take());
        } else {
            errors.push(
                meta.path.span(),
                "#[fgs_functions] takes only `crate = \"...\"`; put function options on each method's #[function(...)]",
            );
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push_error(error);
    }
    krate
}

/// Combines `urn`, `function`, `version` and `alias` into the target, reporting conflicts.
fn combine_target(given: TargetOptions, errors: &mut Errors, call_site: Span) -> Option<Target> {
    let TargetOptions {
        urn,
        function,
        version,
        alias,
    } = given;
    match (urn, function) {
        (Some(urn), Some(function)) => {
            errors.push(function.span(), "`urn` and `function` conflict: give a full URN, or a function resolved against the client's region and project, not both");
            check_urn(&urn, errors);
            Some(Target::Urn(urn))
        }
        (Some(urn), None) => {
            for given in [&version, &alias].into_iter().flatten() {
                errors.push(
                    given.span(),
                    "`version` and `alias` go with `function`; a URN carries its own qualifier",
                );
            }
            check_urn(&urn, errors);
            Some(Target::Urn(urn))
        }
        (None, Some(function)) => {
            if let (Some(_), Some(alias)) = (&version, &alias) {
                errors.push(
                    alias.span(),
                    "`version` and `alias` conflict: a call goes to one version or one alias",
                );
            }
            check_function(&function, version.as_ref(), alias.as_ref(), errors).map(Target::Function)
        }
        (None, None) => {
            errors.push(
                call_site,
                "missing the function: add `urn = \"urn:fss:...\"` or `function = \"package/name\"`",
            );
            None
        }
    }
}

/// `log` alone means `true`; `log = false` is accepted too.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(syn::Token![=]) {
        let value: LitBool = meta.value()?.parse()?;
        Ok(value.value)
    } else {
        Ok(true)
    }
}

fn check_urn(urn: &LitStr, errors: &mut Errors) {
    // Stable proc-macros cannot point inside a string literal, so the message names the
    // part instead.
    if let Err(error) = fgs_urn::FunctionUrn::parse(&urn.value()) {
        errors.push(urn.span(), error);
    }
}

/// `function = "package/name[:version|:!alias]"`, with the qualifier of `version = "..."`
/// or `alias = "..."` (if `version` is given, `alias` was reported as a conflict).
fn check_function(
    function: &LitStr,
    version: Option<&LitStr>,
    alias: Option<&LitStr>,
    errors: &mut Errors,
) -> Option<FunctionRef> {
    let parsed = match FunctionRef::parse(&function.value()) {
        Ok(parsed) => parsed,
        Err(error) if error.part() == UrnPart::Name && error.kind() == UrnErrorKind::Missing => {
            errors.push(
                function.span(),
                "`function` is \"package/name\", e.g. \"default/hello\"",
            );
            return None;
        }
        Err(error) => {
            errors.push(function.span(), format!("invalid `function`: {}", error.problem()));
            return None;
        }
    };
    let (option, given, is_alias) = match (version, alias) {
        (Some(version), _) => ("version", version, false),
        (None, Some(alias)) => ("alias", alias, true),
        (None, None) => return Some(parsed),
    };
    if let Some(written) = parsed.qualifier() {
        errors.push(
            given.span(),
            format!(
                "`function` already names its qualifier (`:{written}`); give it there or with `{option}`, not both"
            ),
        );
        return None;
    }
    let value = given.value();
    let qualifier = if is_alias {
        // The leading `!` is optional.
        Qualifier::Alias(value.strip_prefix('!').unwrap_or(&value))
    } else {
        Qualifier::Version(&value)
    };
    match parsed.with_qualifier(qualifier) {
        Ok(qualified) => Some(qualified),
        Err(error) => {
            errors.push(given.span(), format!("invalid `{option}`: {}", error.problem()));
            None
        }
    }
}

/// `"500ms"`, `"30s"`, `"2m"`.
fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let usage =
        || format!("invalid timeout {text:?}: expected a whole number with a unit, e.g. \"500ms\", \"30s\" or \"2m\"");
    let number: u64 = number.parse().map_err(|_| usage())?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return Err(usage()),
    };
    match number.checked_mul(factor) {
        Some(0) => Err(format!("invalid timeout {text:?}: it must be more than zero")),
        Some(ms) => Ok(ms),
        None => Err(usage()),
    }
}

/// The integer value of `memory = 512`, if it is one.
pub fn memory_value(memory: &LitInt, errors: &mut Errors) -> Option<String> {
    match memory.base10_parse::<u32>() {
        Ok(value) => Some(value.to_string()),
        Err(_) => {
            errors.push(memory.span(), "`memory` is a size in MB, e.g. `memory = 512`");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("30s"), Ok(30_000));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert!(parse_duration_ms("0s").unwrap_err().contains("more than zero"));
        assert!(parse_duration_ms("1.5s").is_err());
        assert!(parse_duration_ms("10").is_err());
        assert!(parse_duration_ms("10h").is_err());
    }
}
