//! The stub options: `#[fgs_function(urn = "...", log, memory = 512, ...)]`.
//!
//! Every problem is collected (not just the first), each with the span of what is wrong.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
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
    Urn(LitStr),
    Function {
        package: String,
        name: String,
        qualifier: Option<(bool, String)>,
    },
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

pub const OPTION_NAMES: &str =
    "urn, function, version, alias, log, response_version, memory, timeout, idempotent, output, crate";

impl Options {
    /// The path of the facade crate in the expansion.
    pub fn krate(&self) -> TokenStream {
        match &self.krate {
            Some(path) => path.to_token_stream(),
            None => quote!(::fgs),
        }
    }
}

/// Reads `key = value` pairs and flags.
pub fn parse(args: TokenStream, errors: &mut Errors, call_site: Span) -> Options {
    let mut options = Options {
        target: None,
        log_tail: false,
        response_version: None,
        memory: None,
        timeout_ms: None,
        idempotent: false,
        output: Output::Json,
        krate: None,
    };
    let mut urn: Option<LitStr> = None;
    let mut function: Option<LitStr> = None;
    let mut version: Option<LitStr> = None;
    let mut alias: Option<LitStr> = None;
    let mut seen: Vec<String> = Vec::new();

    let parser = syn::meta::parser(|meta| {
        let name = meta.path.get_ident().map(ToString::to_string).unwrap_or_else(|| {
            // `crate` is a keyword, so it is not an `Ident`.
            meta.path.to_token_stream().to_string()
        });
        let span = meta.path.span();
        if seen.contains(&name) {
            errors.push(span, format!("`{name}` is given twice"));
        }
        seen.push(name.clone());
        match name.as_str() {
            "urn" => urn = Some(meta.value()?.parse()?),
            "function" => function = Some(meta.value()?.parse()?),
            "version" => version = Some(meta.value()?.parse()?),
            "alias" => alias = Some(meta.value()?.parse()?),
            "log" => options.log_tail = flag(&meta)?,
            "idempotent" => options.idempotent = flag(&meta)?,
            "response_version" => options.response_version = Some(meta.value()?.parse()?),
            "memory" => options.memory = Some(meta.value()?.parse()?),
            "timeout" => {
                let text: LitStr = meta.value()?.parse()?;
                match parse_duration_ms(&text.value()) {
                    Ok(ms) => options.timeout_ms = Some(ms),
                    Err(message) => errors.push(text.span(), message),
                }
            }
            "output" => {
                let text: LitStr = meta.value()?.parse()?;
                options.output = match text.value().as_str() {
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
                };
            }
            "crate" => {
                let text: LitStr = meta.value()?.parse()?;
                match text.parse::<Path>() {
                    Ok(path) => options.krate = Some(path),
                    Err(_) => errors.push(text.span(), "`crate` must be a path, e.g. \"my_sdk::fgs\""),
                }
            }
            _ => {
                errors.push(
                    span,
                    format!("unknown option `{name}`; expected one of: {OPTION_NAMES}"),
                );
                // Skip the value so that the options after it are still read.
                if meta.input.peek(syn::Token![=]) {
                    let _: Expr = meta.value()?.parse()?;
                }
            }
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push_error(error);
    }

    match (urn, function) {
        (Some(urn), Some(function)) => {
            errors.push(function.span(), "`urn` and `function` conflict: give a full URN, or a function resolved against the client's region and project, not both");
            check_urn(&urn, errors);
            options.target = Some(Target::Urn(urn));
        }
        (Some(urn), None) => {
            for given in [&version, &alias].into_iter().flatten() {
                errors.push(
                    given.span(),
                    "`version` and `alias` go with `function`; a URN carries its own qualifier",
                );
            }
            check_urn(&urn, errors);
            options.target = Some(Target::Urn(urn));
        }
        (None, Some(function)) => {
            if let (Some(_), Some(alias)) = (&version, &alias) {
                errors.push(
                    alias.span(),
                    "`version` and `alias` conflict: a call goes to one version or one alias",
                );
            }
            options.target = check_function(&function, version.as_ref(), alias.as_ref(), errors);
        }
        (None, None) => errors.push(
            call_site,
            "missing the function: add `urn = \"urn:fss:...\"` or `function = \"package/name\"`",
        ),
    }
    options
}

/// `log` alone means `true`; `log = false` is accepted too.
fn flag(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<bool> {
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

fn check_function(
    function: &LitStr,
    version: Option<&LitStr>,
    alias: Option<&LitStr>,
    errors: &mut Errors,
) -> Option<Target> {
    let text = function.value();
    let Some((package, name)) = text.split_once('/') else {
        errors.push(
            function.span(),
            "`function` is \"package/name\", e.g. \"default/hello\"",
        );
        return None;
    };
    let mut ok = true;
    for (part, value) in [(fgs_urn::UrnPart::Package, package), (fgs_urn::UrnPart::Name, name)] {
        if let Err(error) = fgs_urn::check_part(part, value) {
            errors.push(function.span(), format!("invalid `function`: {}", error.problem()));
            ok = false;
        }
    }
    let qualifier = match (version, alias) {
        (Some(version), _) => {
            let value = version.value();
            if let Err(error) = fgs_urn::check_part(fgs_urn::UrnPart::Version, &value) {
                errors.push(version.span(), format!("invalid `version`: {}", error.problem()));
                ok = false;
            }
            Some((false, value))
        }
        (None, Some(alias)) => {
            let value = alias.value();
            let value = value.strip_prefix('!').unwrap_or(&value).to_owned();
            if let Err(error) = fgs_urn::check_part(fgs_urn::UrnPart::Alias, &value) {
                errors.push(alias.span(), format!("invalid `alias`: {}", error.problem()));
                ok = false;
            }
            Some((true, value))
        }
        (None, None) => None,
    };
    ok.then(|| Target::Function {
        package: package.to_owned(),
        name: name.to_owned(),
        qualifier,
    })
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
