//! Spec names → Rust names.

use proc_macro2::{Ident, Span};

/// Words of a name: split on anything that is not alphanumeric and before an upper-case
/// letter that follows a lower-case letter or digit (`billingDuration`, `X-Cff-Log-Type`).
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for ch in name.chars() {
        if !ch.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        }
        if ch.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
            && !current.is_empty()
        {
            words.push(std::mem::take(&mut current));
        }
        current.push(ch);
        previous = Some(ch);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `invokeFunction` → `InvokeFunction`, `log-type` → `LogType`.
pub fn pascal(name: &str) -> String {
    let mut out = String::new();
    for word in words(name) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

/// `X-Cff-Log-Type` → `x_cff_log_type`, `billingDuration` → `billing_duration`.
pub fn snake(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// `InvokeFunction` → `INVOKE_FUNCTION`.
pub fn screaming(name: &str) -> String {
    snake(name).to_ascii_uppercase()
}

/// The constant name for a header's wire name: `X-Cff-Request-Id` → `X_CFF_REQUEST_ID`.
/// Characters an identifier cannot hold become `_`, and a leading digit gets one too.
pub fn constant_for_wire_name(wire: &str) -> String {
    let mut name: String = wire
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert(0, '_');
    }
    name
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
    "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Keywords that cannot even be raw identifiers.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super"];

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "_"
}

/// A type or variant name must be an identifier starting with an upper-case letter.
pub fn check_type_name(name: &str) -> Result<(), String> {
    if !is_identifier(name) || !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Err(format!(
            "`{name}` is not usable as a Rust type name (an identifier starting with an upper-case letter)"
        ));
    }
    if KEYWORDS.contains(&name) {
        return Err(format!("`{name}` is a Rust keyword and cannot name a type"));
    }
    Ok(())
}

/// A field name must be a lower-case identifier; keywords are escaped when emitted.
pub fn check_field_name(name: &str) -> Result<(), String> {
    if !is_identifier(name) || name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Err(format!(
            "`{name}` is not usable as a Rust field name (a lower-case identifier)"
        ));
    }
    Ok(())
}

/// The identifier for a field: a keyword becomes a raw identifier (`r#type`), and the few
/// keywords that cannot be raw get a trailing underscore (`self_`).
pub fn field_ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// The identifier for a type, variant or constant (already checked).
pub fn type_ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// RFC 9110 token characters.
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Placeholders of a path template, in order.
pub fn template_params(path: &str) -> Result<Vec<String>, String> {
    if !path.starts_with('/') {
        return Err("a path must start with `/`".into());
    }
    let mut params = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("unclosed `{`")?;
        let name = &after[..close];
        if name.is_empty() || name.contains('{') {
            return Err(format!("bad placeholder `{{{name}}}`"));
        }
        if params.iter().any(|p| p == name) {
            return Err(format!("placeholder `{{{name}}}` appears twice"));
        }
        params.push(name.to_owned());
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("unmatched `}`".into());
    }
    Ok(params)
}

/// The literal pieces and placeholders of a path template, in order.
pub fn template_pieces(path: &str) -> Vec<TemplatePiece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        if open > 0 {
            pieces.push(TemplatePiece::Literal(&rest[..open]));
        }
        pieces.push(TemplatePiece::Param(&after[..close]));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(TemplatePiece::Literal(rest));
    }
    pieces
}

/// A piece of a path template.
#[derive(Debug, PartialEq, Eq)]
pub enum TemplatePiece<'a> {
    /// Text sent as is.
    Literal(&'a str),
    /// A placeholder name.
    Param(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_cases() {
        assert_eq!(snake("X-Cff-Log-Type"), "x_cff_log_type");
        assert_eq!(snake("X-CFF-Request-Version"), "x_cff_request_version");
        assert_eq!(snake("billingDuration"), "billing_duration");
        assert_eq!(snake("request_id"), "request_id");
        assert_eq!(pascal("invokeFunction"), "InvokeFunction");
        assert_eq!(pascal("async-invoke_function"), "AsyncInvokeFunction");
        assert_eq!(pascal("v1"), "V1");
        assert_eq!(screaming("InvokeFunction"), "INVOKE_FUNCTION");
    }

    #[test]
    fn escapes_keywords() {
        assert_eq!(field_ident("type").to_string(), "r#type");
        assert_eq!(field_ident("self").to_string(), "self_");
        assert_eq!(field_ident("name").to_string(), "name");
        assert!(check_type_name("Self").is_err());
        assert!(check_type_name("lower").is_err());
        assert!(check_field_name("Upper").is_err());
        assert!(check_field_name("type").is_ok());
    }

    #[test]
    fn reads_templates() {
        assert_eq!(
            template_params("/v2/{a}/x/{b}/y"),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(template_params("/v2/{a").is_err());
        assert!(template_params("/v2/{a}/{a}").is_err());
        assert!(template_params("v2").is_err());
        assert_eq!(
            template_pieces("/v2/{a}/x"),
            vec![
                TemplatePiece::Literal("/v2/"),
                TemplatePiece::Param("a"),
                TemplatePiece::Literal("/x")
            ]
        );
    }
}
