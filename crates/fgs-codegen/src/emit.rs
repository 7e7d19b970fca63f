//! [`Api`] → Rust source files.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::*;
use crate::names::{self, TemplatePiece, field_ident, type_ident};

/// What the emitted files refer to outside themselves.
pub struct Emitter<'a> {
    pub api: &'a Api,
    /// Path of the hand-written module with `Operation`, `OperationInfo`, header helpers, ...
    pub runtime: TokenStream,
}

fn doc(text: &str) -> TokenStream {
    // One attribute per line keeps prettyplease's `///` output readable.
    let lines = text.lines().map(|line| {
        let line = format!(" {line}");
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// "`label`: description", or just "`label`" when there is no description.
fn labelled(label: &str, text: &Option<String>) -> TokenStream {
    match text {
        Some(text) => doc(&format!("{label}: {text}")),
        None => doc(label),
    }
}

fn doc_or(text: &Option<String>, fallback: &str) -> TokenStream {
    doc(text.as_deref().unwrap_or(fallback))
}

fn rust_type(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(String),
        TypeRef::Bool => quote!(bool),
        TypeRef::I32 => quote!(i32),
        TypeRef::I64 => quote!(i64),
        TypeRef::F64 => quote!(f64),
        TypeRef::Vec(inner) => {
            let inner = rust_type(inner);
            quote!(Vec<#inner>)
        }
        TypeRef::Named(name) => {
            let ident = type_ident(name);
            quote!(super::types::#ident)
        }
        TypeRef::Json => quote!(serde_json::Value),
    }
}

fn header_rust_type(ty: &HeaderType) -> TokenStream {
    match ty {
        HeaderType::String => quote!(String),
        HeaderType::Bool => quote!(bool),
        HeaderType::Integer => quote!(i64),
        HeaderType::Number => quote!(f64),
        HeaderType::Enum(name) => {
            let ident = type_ident(name);
            quote!(super::types::#ident)
        }
        HeaderType::Json(ty) => rust_type(ty),
    }
}

/// Lower-case wire name, which `http::HeaderName::from_static` requires.
fn header_name_tokens(name: &str) -> TokenStream {
    let lower = name.to_ascii_lowercase();
    quote!(http::HeaderName::from_static(#lower))
}

impl Emitter<'_> {
    pub fn module(&self) -> TokenStream {
        let title = format!(
            " Types and operation metadata generated from the API description \"{}\" ({}).",
            self.api.title, self.api.version
        );
        quote! {
            #![doc = #title]
            pub mod error_codes;
            pub mod operations;
            pub mod types;
        }
    }

    pub fn types(&self) -> TokenStream {
        let enums = self.api.enums.iter().map(|e| self.enum_def(e));
        let structs = self.api.structs.iter().map(|s| self.struct_def(s));
        quote! {
            //! Schemas of the API description: named string enumerations and object types.
            #(#enums)*
            #(#structs)*
        }
    }

    fn enum_def(&self, def: &EnumDef) -> TokenStream {
        let name = type_ident(&def.name);
        let in_request_header = self.api.operations.iter().any(|op| {
            op.headers
                .iter()
                .any(|h| matches!(&h.ty, HeaderType::Enum(e) if *e == def.name))
        });
        let docs = doc_or(&def.doc, &format!("Values of `{}`.", def.name));
        let variants: Vec<_> = def.variants.iter().map(|v| type_ident(&v.name)).collect();
        let values: Vec<_> = def.variants.iter().map(|v| v.value.as_str()).collect();
        // A known value is checked when the crate compiles and sent without a copy.
        let header_value = in_request_header.then(|| {
            quote! {
                /// The wire value as a request header value.
                pub(crate) fn to_header_value(&self) -> Result<http::HeaderValue, http::header::InvalidHeaderValue> {
                    match self {
                        #(Self::#variants => Ok(const { http::HeaderValue::from_static(#values) }),)*
                        Self::Unknown(value) => http::HeaderValue::from_str(value),
                    }
                }
            }
        });
        let variant_docs = def.variants.iter().map(|v| {
            let text = match &v.doc {
                Some(d) => format!("`{}`: {d}", v.value),
                None => format!("`{}`", v.value),
            };
            doc(&text)
        });
        quote! {
            #docs
            ///
            /// Values this SDK does not know yet parse as `Unknown`, so a service that adds a
            /// value does not break existing programs.
            #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            #[non_exhaustive]
            pub enum #name {
                #(#variant_docs #variants,)*
                /// A value this version of the SDK does not know.
                Unknown(String),
            }

            impl #name {
                /// Every value the API description lists.
                pub const VALUES: &'static [&'static str] = &[#(#values),*];

                /// The wire value.
                pub fn as_str(&self) -> &str {
                    match self {
                        #(Self::#variants => #values,)*
                        Self::Unknown(value) => value,
                    }
                }

                #header_value
            }

            impl From<&str> for #name {
                fn from(value: &str) -> Self {
                    match value {
                        #(#values => Self::#variants,)*
                        other => Self::Unknown(other.to_owned()),
                    }
                }
            }

            impl std::str::FromStr for #name {
                type Err = std::convert::Infallible;

                fn from_str(value: &str) -> Result<Self, Self::Err> {
                    Ok(Self::from(value))
                }
            }

            impl std::fmt::Display for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl serde::Serialize for #name {
                fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }

            impl<'de> serde::Deserialize<'de> for #name {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    let value = <String as serde::Deserialize>::deserialize(deserializer)?;
                    Ok(Self::from(value.as_str()))
                }
            }
        }
    }

    fn struct_def(&self, def: &StructDef) -> TokenStream {
        let name = type_ident(&def.name);
        let docs = doc_or(&def.doc, &format!("The `{}` schema.", def.name));
        let fields = def.fields.iter().map(|f| {
            let ident = field_ident(&f.rust_name);
            let docs = doc_or(&f.doc, &format!("`{}`", f.json_name));
            let inner = rust_type(&f.ty);
            let rename = (ident.to_string().trim_start_matches("r#") != f.json_name).then(|| {
                let json = &f.json_name;
                quote!(#[serde(rename = #json)])
            });
            let aliases = f.aliases.iter().map(|alias| quote!(#[serde(alias = #alias)]));
            let rename = quote!(#rename #(#aliases)*);
            if f.required {
                quote!(#docs #rename pub #ident: #inner,)
            } else {
                quote! {
                    #docs
                    #rename
                    #[serde(default, skip_serializing_if = "Option::is_none")]
                    pub #ident: Option<#inner>,
                }
            }
        });
        let additional = def.additional_properties.then(|| {
            quote! {
                /// Properties the API description does not declare, kept as sent.
                #[serde(flatten)]
                pub additional: serde_json::Map<String, serde_json::Value>,
            }
        });
        // A constructor from the required fields, since `#[non_exhaustive]` (a field added to
        // the description must not break callers) forbids struct literals outside the crate.
        let params = def.fields.iter().filter(|f| f.required).map(|f| {
            let ident = field_ident(&f.rust_name);
            let ty = rust_type(&f.ty);
            quote!(#ident: #ty)
        });
        let inits = def.fields.iter().map(|f| {
            let ident = field_ident(&f.rust_name);
            if f.required {
                quote!(#ident,)
            } else {
                quote!(#ident: None,)
            }
        });
        let additional_init = def
            .additional_properties
            .then(|| quote!(additional: serde_json::Map::new(),));
        let new_doc = format!(" `{}` with the required fields set and the others empty.", def.name);
        // Every JSON name a field is read under, for readers of partial documents.
        let name_lists = def.fields.iter().filter(|f| !f.aliases.is_empty()).map(|f| {
            let constant = format_ident!("{}_NAMES", names::screaming(&f.rust_name));
            let all = std::iter::once(&f.json_name).chain(&f.aliases);
            let doc = format!(
                " The JSON names `{}` is read under: its own, then its aliases.",
                f.rust_name
            );
            quote!(#[doc = #doc] pub const #constant: &'static [&'static str] = &[#(#all),*];)
        });
        quote! {
            #docs
            #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
            #[non_exhaustive]
            pub struct #name {
                #(#fields)*
                #additional
            }

            impl #name {
                #(#name_lists)*

                #[doc = #new_doc]
                #[allow(clippy::new_without_default)]
                pub fn new(#(#params),*) -> Self {
                    Self { #(#inits)* #additional_init }
                }
            }
        }
    }

    pub fn operations(&self) -> TokenStream {
        let rt = &self.runtime;
        let security = self.api.security_headers.iter().map(|s| {
            let ident = format_ident!("{}_HEADER", names::screaming(&s.scheme));
            let docs = labelled(
                &format!("`{}`, the header of the `{}` security scheme", s.header, s.scheme),
                &s.doc,
            );
            let value = header_name_tokens(&s.header);
            quote!(#docs pub const #ident: http::HeaderName = #value;)
        });
        let header_names = self.header_names();
        let header_sets = self.api.header_sets.iter().map(|s| self.header_set(s));
        let operations = self.api.operations.iter().map(|op| self.operation(op));
        let all: Vec<_> = self.api.operations.iter().map(|op| type_ident(&op.name)).collect();
        quote! {
            //! Operations of the API description: request parameters, response headers and
            //! metadata, tied together by one `Operation` implementation per operation.
            use #rt::{FromHeaderMap, HeaderDecodeError, InvalidHeaderValue, Operation, OperationInfo, RequestParts};

            #(#security)*

            #header_names

            /// Metadata of every operation, in the order of the API description.
            pub static OPERATIONS: &[OperationInfo] = &[#(<#all as Operation>::INFO),*];

            #(#header_sets)*
            #(#operations)*
        }
    }

    /// One constant per header the description names (request parameters and response
    /// headers), so that code outside the generated module never spells a header.
    fn header_names(&self) -> TokenStream {
        let mut seen: Vec<String> = Vec::new();
        let mut constants = Vec::new();
        let mut spellings = Vec::new();
        let all = self
            .api
            .operations
            .iter()
            .flat_map(|op| op.headers.iter())
            .chain(self.api.header_sets.iter().flat_map(|set| set.headers.iter()));
        for header in all {
            let lower = header.name.to_ascii_lowercase();
            if seen.contains(&lower) {
                continue;
            }
            seen.push(lower);
            let ident = format_ident!("{}", names::constant_for_wire_name(&header.name));
            let docs = labelled(&format!("`{}`", header.name), &header.doc);
            let value = header_name_tokens(&header.name);
            constants.push(quote!(#docs pub const #ident: http::HeaderName = #value;));
            let wire = &header.name;
            let spelled = format!(" `{wire}`, as the API description writes it.");
            spellings.push(quote!(#[doc = #spelled] pub const #ident: &str = #wire;));
        }
        if constants.is_empty() {
            return TokenStream::new();
        }
        quote! {
            /// Every header the API description names, as `http::HeaderName` constants.
            pub mod headers {
                #(#constants)*

                /// The same names as the API description capitalises them, for messages and
                /// text meant for people (HTTP names are case-insensitive; `HeaderName` is
                /// lower case).
                pub mod as_written {
                    #(#spellings)*
                }
            }
        }
    }

    fn header_set(&self, set: &HeaderSet) -> TokenStream {
        let rt = &self.runtime;
        let name = type_ident(&set.name);
        let docs = doc(&set.doc);
        let fields = set.headers.iter().map(|h| {
            let ident = field_ident(&h.rust_name);
            let ty = header_rust_type(&h.ty);
            let docs = labelled(&format!("`{}`", h.name), &h.doc);
            if h.required {
                quote!(#docs pub #ident: #ty,)
            } else {
                quote!(#docs pub #ident: Option<#ty>,)
            }
        });
        let reads = set.headers.iter().map(|h| {
            let ident = field_ident(&h.rust_name);
            let wire = &h.name;
            // Built at compile time: a lookup by `&str` would lower-case and hash the
            // name on every response.
            let key = header_name_tokens(wire);
            let key = quote!(&const { #key });
            let read = match &h.ty {
                HeaderType::String => quote!(#rt::header_string(headers, #key, #wire)),
                HeaderType::Bool => quote!(#rt::header_bool(headers, #key, #wire)),
                HeaderType::Integer => quote!(#rt::header_integer(headers, #key, #wire)),
                HeaderType::Number => quote!(#rt::header_number(headers, #key, #wire)),
                HeaderType::Enum(_) => quote!(#rt::header_enum(headers, #key, #wire)),
                HeaderType::Json(_) => quote!(#rt::header_json(headers, #key, #wire)),
            };
            if h.required {
                quote!(#ident: #rt::required_header(#wire, #read?)?,)
            } else {
                quote!(#ident: #rt::optional_header(#read, problems),)
            }
        });
        let (headers_param, problems_param) = if set.headers.is_empty() {
            (quote!(_headers), quote!(_problems))
        } else if set.headers.iter().all(|h| h.required) {
            (quote!(headers), quote!(_problems))
        } else {
            (quote!(headers), quote!(problems))
        };
        // Every header optional: the empty set is a value, which a reader that decodes the
        // headers later (when asked) falls back to instead of failing.
        let default = set
            .headers
            .iter()
            .all(|h| !h.required)
            .then(|| quote!(#[derive(Default)]));
        quote! {
            #docs
            #[derive(Clone, Debug, PartialEq)]
            #default
            #[non_exhaustive]
            pub struct #name {
                #(#fields)*
            }

            impl FromHeaderMap for #name {
                fn from_header_map(
                    #headers_param: &http::HeaderMap,
                    #problems_param: &mut Vec<HeaderDecodeError>,
                ) -> Result<Self, HeaderDecodeError> {
                    Ok(Self { #(#reads)* })
                }
            }
        }
    }

    fn operation(&self, op: &Operation) -> TokenStream {
        let marker = type_ident(&op.name);
        let request = format_ident!("{}Request", op.name);
        let (marker_docs, request_docs) = operation_docs(op);
        let (new_params, new_inits) = new_arguments(op);
        let operation_impl = self.operation_impl(op, &marker, &request, marker_docs);
        // Clippy asks for `Default` beside an argument-less `new`.
        let request_struct = request_struct(op, &request, request_docs, new_params.is_empty());
        let request_parts = self.request_parts_impl(op, &request);
        let lifetime = request_lifetime(op);
        quote! {
            #operation_impl

            #request_struct

            impl #lifetime #request #lifetime {
                /// Parameters with every optional header left out.
                pub fn new(#(#new_params),*) -> Self {
                    Self { #(#new_inits)* }
                }
            }

            #request_parts
        }
    }

    /// The marker type, its `MAX_RUN_SECONDS` and its `Operation` impl (metadata and the
    /// request, header and error-body types).
    fn operation_impl(&self, op: &Operation, marker: &Ident, request: &Ident, docs: TokenStream) -> TokenStream {
        let method = type_ident(&op.method);
        let id = &op.id;
        let path_template = &op.path;
        let request_types = &op.request_content_types;
        let max_body = optional_u64(op.max_body_bytes);
        let max_run = optional_u64(op.max_run_seconds);
        let success_status = Literal::u16_unsuffixed(op.success.status);
        let success_headers = type_ident(&op.success.headers);
        let (error_headers, error_body) = error_types(op);
        let request_lifetime = request_lifetime(op);
        quote! {
            #docs
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            pub struct #marker;

            impl #marker {
                /// The longest the service runs one call, in seconds (`x-max-run-seconds`), as a
                /// constant usable in `const` items (the same as `INFO.max_run_seconds`).
                pub const MAX_RUN_SECONDS: Option<u64> = #max_run;
            }

            impl Operation for #marker {
                const INFO: OperationInfo = OperationInfo {
                    id: #id,
                    method: http::Method::#method,
                    path_template: #path_template,
                    request_content_types: &[#(#request_types),*],
                    max_body_bytes: #max_body,
                    max_run_seconds: Self::MAX_RUN_SECONDS,
                    success_status: #success_status,
                };
                type Request<'a> = #request #request_lifetime;
                type ResponseHeaders = #success_headers;
                type ErrorHeaders = #error_headers;
                type ErrorBody = #error_body;
            }
        }
    }

    /// `RequestParts` for the request struct: the path from the template, then the headers.
    fn request_parts_impl(&self, op: &Operation, request: &Ident) -> TokenStream {
        let path_pieces = self.path_pieces(op);
        // Room for the literal text plus a typical URN-sized parameter.
        let capacity = Literal::usize_unsuffixed(op.path.len() + 64);
        let writes = self.header_writes(op);
        let lifetime = (!op.path_params.is_empty()).then(|| quote!(<'_>));
        let headers_param = if op.headers.is_empty() {
            quote!(_headers)
        } else {
            quote!(headers)
        };
        quote! {
            impl RequestParts for #request #lifetime {
                fn path(&self) -> String {
                    let mut path = String::with_capacity(#capacity);
                    #(#path_pieces)*
                    path
                }

                fn write_headers(&self, #headers_param: &mut http::HeaderMap) -> Result<(), InvalidHeaderValue> {
                    #(#writes)*
                    Ok(())
                }
            }
        }
    }

    /// One statement per template piece: literal text as is, parameters percent-encoded.
    fn path_pieces(&self, op: &Operation) -> Vec<TokenStream> {
        let rt = &self.runtime;
        names::template_pieces(&op.path)
            .into_iter()
            .map(|piece| match piece {
                TemplatePiece::Literal(text) => quote!(path.push_str(#text);),
                TemplatePiece::Param(name) => {
                    let ident = op
                        .path_params
                        .iter()
                        .find(|p| p.name == name)
                        .map(|p| field_ident(&p.rust_name))
                        .unwrap_or_else(|| field_ident(name));
                    quote!(#rt::encode_path_segment_into(&self.#ident, &mut path);)
                }
            })
            .collect()
    }

    /// One statement per request header, inserting its value (when set) as text.
    fn header_writes(&self, op: &Operation) -> Vec<TokenStream> {
        let rt = &self.runtime;
        op.headers
            .iter()
            .map(|h| {
                let ident = field_ident(&h.rust_name);
                let name = header_name_tokens(&h.name);
                // Made at compile time, not validated again on every request.
                let wire = quote!(const { #name });
                let insert = match &h.ty {
                    // A known value goes in as the static text it is, without a copy.
                    HeaderType::Enum(_) => quote!(#rt::insert_header_value(headers, #wire, value.to_header_value())?;),
                    other => {
                        let text = match other {
                            HeaderType::Bool => quote!(if *value { "true" } else { "false" }),
                            HeaderType::Integer | HeaderType::Number => quote!(value.to_string().as_str()),
                            HeaderType::Json(_) => quote!(#rt::json_header_text(#wire, value)?.as_str()),
                            HeaderType::String | HeaderType::Enum(_) => quote!(value.as_str()),
                        };
                        quote!(#rt::insert_header(headers, #wire, #text)?;)
                    }
                };
                if h.required {
                    quote! {
                        let value = &self.#ident;
                        #insert
                    }
                } else {
                    quote! {
                        if let Some(value) = &self.#ident {
                            #insert
                        }
                    }
                }
            })
            .collect()
    }

    pub fn error_codes(&self) -> TokenStream {
        let rt = &self.runtime;
        let all = self
            .api
            .error_codes
            .iter()
            .flat_map(|c| c.cases.iter().map(move |case| self.error_code_info(c, case)));
        let error_code_enum = self.error_code_enum();
        quote! {
            //! The catalogue of error codes the service and its gateway return, with what each
            //! one says about the request.

            /// Every listed code with each HTTP status it comes with.
            pub static ERROR_CODES: &[#rt::ErrorCodeInfo] = &[#(#all),*];

            #error_code_enum
        }
    }

    /// `ErrorCode`: one variant per listed code, with its wire code and catalogue entries.
    fn error_code_enum(&self) -> TokenStream {
        let rt = &self.runtime;
        let codes = &self.api.error_codes;
        let variants: Vec<_> = codes.iter().map(|c| type_ident(&c.name)).collect();
        let wire: Vec<_> = codes.iter().map(|c| c.code.as_str()).collect();
        let variant_docs = codes.iter().map(error_code_doc);
        let entries = codes.iter().map(|c| {
            let infos = c.cases.iter().map(|case| self.error_code_info(c, case));
            quote!(&[#(#infos),*])
        });
        quote! {
            /// An `error_code` from an error response body.
            ///
            /// Codes this SDK does not know parse as `Unknown`.
            #[derive(Clone, Debug, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum ErrorCode {
                #(#variant_docs #variants,)*
                /// A code this version of the SDK does not know.
                Unknown(String),
            }

            impl ErrorCode {
                /// The wire code, e.g. `FSS.1051`.
                pub fn as_str(&self) -> &str {
                    match self {
                        #(Self::#variants => #wire,)*
                        Self::Unknown(code) => code,
                    }
                }

                /// What the catalogue says about this code, one entry per HTTP status.
                pub fn entries(&self) -> &'static [#rt::ErrorCodeInfo] {
                    match self {
                        #(Self::#variants => #entries,)*
                        Self::Unknown(_) => &[],
                    }
                }

                /// What the catalogue says about this code with this HTTP status.
                pub fn info(&self, status: u16) -> Option<&'static #rt::ErrorCodeInfo> {
                    self.entries().iter().find(|entry| entry.status == status)
                }
            }

            impl From<&str> for ErrorCode {
                fn from(code: &str) -> Self {
                    match code {
                        #(#wire => Self::#variants,)*
                        other => Self::Unknown(other.to_owned()),
                    }
                }
            }

            impl std::fmt::Display for ErrorCode {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        }
    }

    /// One catalogue entry: a code with one HTTP status.
    fn error_code_info(&self, code: &ErrorCode, case: &ErrorCase) -> TokenStream {
        let rt = &self.runtime;
        let c = code.code.as_str();
        let status = Literal::u16_unsuffixed(case.status);
        let meaning = case.meaning.as_str();
        let not_executed = case.not_executed;
        let transient = case.transient;
        quote!(#rt::ErrorCodeInfo { code: #c, status: #status, meaning: #meaning, not_executed: #not_executed, transient: #transient })
    }
}

/// The docs of the marker type (title, summary, description) and of the request struct.
fn operation_docs(op: &Operation) -> (TokenStream, TokenStream) {
    let title = format!("`{} {}` (`{}`)", op.method, op.path, op.id);
    let mut text = match &op.summary {
        Some(s) => format!("{title}: {s}"),
        None => title.clone(),
    };
    if let Some(d) = &op.description {
        text.push_str("\n\n");
        text.push_str(d);
    }
    (doc(&text), doc(&format!("Path and header parameters of {title}.")))
}

/// The request struct: path parameters, then headers (optional ones as `Option`).
fn request_struct(op: &Operation, request: &Ident, docs: TokenStream, derive_default: bool) -> TokenStream {
    let path_fields = op.path_params.iter().map(|p| {
        let ident = field_ident(&p.rust_name);
        let docs = labelled(&format!("Path parameter `{}`", p.name), &p.doc);
        quote!(#docs pub #ident: std::borrow::Cow<'a, str>,)
    });
    let header_fields = op.headers.iter().map(|h| {
        let ident = field_ident(&h.rust_name);
        let ty = header_rust_type(&h.ty);
        let docs = labelled(&format!("Header `{}`", h.name), &h.doc);
        if h.required {
            quote!(#docs pub #ident: #ty,)
        } else {
            quote!(#docs pub #ident: Option<#ty>,)
        }
    });
    let default = derive_default.then(|| quote!(#[derive(Default)]));
    let lifetime = request_lifetime(op);
    quote! {
        #docs
        #[derive(Clone, Debug, PartialEq)]
        #default
        pub struct #request #lifetime {
            #(#path_fields)*
            #(#header_fields)*
        }
    }
}

/// `<'a>` for a request with path parameters, which it may borrow (a call's URN and
/// project id are borrowed, not copied, into every request); nothing otherwise.
fn request_lifetime(op: &Operation) -> Option<TokenStream> {
    (!op.path_params.is_empty()).then(|| quote!(<'a>))
}

/// The parameters and field initialisers of the request's `new`, which takes what the
/// request cannot be sent without.
fn new_arguments(op: &Operation) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut new_params = Vec::new();
    let mut new_inits = Vec::new();
    for p in &op.path_params {
        let ident = field_ident(&p.rust_name);
        new_params.push(quote!(#ident: impl Into<std::borrow::Cow<'a, str>>));
        new_inits.push(quote!(#ident: #ident.into(),));
    }
    for h in &op.headers {
        let ident = field_ident(&h.rust_name);
        if h.required {
            let ty = header_rust_type(&h.ty);
            new_params.push(quote!(#ident: #ty));
            new_inits.push(quote!(#ident,));
        } else {
            new_inits.push(quote!(#ident: None,));
        }
    }
    (new_params, new_inits)
}

/// `Some(n)` or `None` as an `Option<u64>` expression.
fn optional_u64(value: Option<u64>) -> TokenStream {
    match value {
        Some(n) => {
            let n = Literal::u64_unsuffixed(n);
            quote!(Some(#n))
        }
        None => quote!(None),
    }
}

/// The `ErrorHeaders` and `ErrorBody` types: the error response's, or `()` and any JSON.
fn error_types(op: &Operation) -> (TokenStream, TokenStream) {
    match &op.error {
        Some(e) => {
            let headers = type_ident(&e.headers);
            let headers = quote!(#headers);
            let body = match &e.json_body {
                Some(ty) => rust_type(ty),
                None => quote!(serde_json::Value),
            };
            (headers, body)
        }
        None => (quote!(()), quote!(serde_json::Value)),
    }
}

/// "`FSS.1051`" followed by one "HTTP status: meaning." paragraph per case.
fn error_code_doc(code: &ErrorCode) -> TokenStream {
    let mut text = format!("`{}`", code.code);
    for case in &code.cases {
        text.push_str(&format!(
            "\n\nHTTP {}: {}.",
            case.status,
            case.meaning.trim_end_matches('.')
        ));
    }
    doc(&text)
}
