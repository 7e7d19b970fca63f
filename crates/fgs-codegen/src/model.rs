//! The intermediate model: what the emitter needs to know about an API, with every
//! OpenAPI indirection (`$ref`, inline schemas, naming extensions) already resolved.

/// A whole API description, ready to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// Named string enumerations from `components.schemas`.
    pub enums: Vec<EnumDef>,
    /// Named object schemas from `components.schemas`.
    pub structs: Vec<StructDef>,
    /// Header names used by security schemes (`apiKey` in `header`).
    pub security_headers: Vec<SecurityHeader>,
    /// Response header sets, each becoming one struct.
    pub header_sets: Vec<HeaderSet>,
    /// Operations in document order.
    pub operations: Vec<Operation>,
    /// The `x-error-codes` catalogue, grouped by code.
    pub error_codes: Vec<ErrorCode>,
}

/// A string enumeration.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDef {
    /// Rust type name.
    pub name: String,
    /// Description.
    pub doc: Option<String>,
    /// Known values.
    pub variants: Vec<EnumVariant>,
}

/// One known value of an enumeration.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumVariant {
    /// Rust variant name.
    pub name: String,
    /// Wire value.
    pub value: String,
    /// Description.
    pub doc: Option<String>,
}

/// An object schema.
#[derive(Debug, Clone, PartialEq)]
pub struct StructDef {
    /// Rust type name.
    pub name: String,
    /// Description.
    pub doc: Option<String>,
    /// Declared properties.
    pub fields: Vec<Field>,
    /// Whether undeclared properties are allowed (and so kept).
    pub additional_properties: bool,
}

/// A property of an object schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Rust field name (not yet escaped).
    pub rust_name: String,
    /// JSON property name.
    pub json_name: String,
    /// Field type.
    pub ty: TypeRef,
    /// Whether the property is required.
    pub required: bool,
    /// Other JSON names accepted when reading (`x-aliases`).
    pub aliases: Vec<String>,
    /// Description.
    pub doc: Option<String>,
}

/// A value type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    /// `string`
    String,
    /// `boolean`
    Bool,
    /// `integer` with format `int32`
    I32,
    /// `integer` (any other format)
    I64,
    /// `number`
    F64,
    /// `array`
    Vec(Box<TypeRef>),
    /// A schema from `components.schemas`.
    Named(String),
    /// Any JSON value (a schema with no type, or an inline object).
    Json,
}

/// A header name used by a security scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityHeader {
    /// The scheme's key in `components.securitySchemes`.
    pub scheme: String,
    /// The header name.
    pub header: String,
    /// Description.
    pub doc: Option<String>,
}

/// The typed headers of one response.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderSet {
    /// Rust struct name.
    pub name: String,
    /// Description.
    pub doc: String,
    /// The headers.
    pub headers: Vec<Header>,
}

/// One request or response header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Wire name, as the spec spells it.
    pub name: String,
    /// Rust field name (not yet escaped).
    pub rust_name: String,
    /// Value type.
    pub ty: HeaderType,
    /// Whether it must be present.
    pub required: bool,
    /// Description.
    pub doc: Option<String>,
}

/// How a header value is written and read.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderType {
    /// Text as is (also `format: byte`, whose decoding is left to the caller).
    String,
    /// `true` or `false`.
    Bool,
    /// A signed integer.
    Integer,
    /// A floating-point number.
    Number,
    /// A named string enumeration.
    Enum(String),
    /// A JSON document of the given type.
    Json(TypeRef),
}

/// One path parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct PathParam {
    /// Name in the path template.
    pub name: String,
    /// Rust field name (not yet escaped).
    pub rust_name: String,
    /// Description.
    pub doc: Option<String>,
}

/// One operation (a method on a path).
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// `operationId`.
    pub id: String,
    /// Rust type-name stem, e.g. `InvokeFunction`.
    pub name: String,
    /// HTTP method in upper case.
    pub method: String,
    /// Path template.
    pub path: String,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// Path parameters in template order.
    pub path_params: Vec<PathParam>,
    /// Request headers.
    pub headers: Vec<Header>,
    /// Media types the request body may have; empty when there is no body.
    pub request_content_types: Vec<String>,
    /// `x-max-body-bytes`.
    pub max_body_bytes: Option<u64>,
    /// `x-max-run-seconds`: the longest the service runs one call.
    pub max_run_seconds: Option<u64>,
    /// The one success response.
    pub success: Response,
    /// The error response shared by every error status.
    pub error: Option<Response>,
}

/// A response: status, header set and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Status code (for the error response, the first listed).
    pub status: u16,
    /// Name of its header set.
    pub headers: String,
    /// The type of the `application/json` body, if any.
    pub json_body: Option<TypeRef>,
}

/// An error code with all the statuses it comes with.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorCode {
    /// Wire code, e.g. `FSS.1051`.
    pub code: String,
    /// Rust variant name.
    pub name: String,
    /// One entry per status.
    pub cases: Vec<ErrorCase>,
}

/// What an error code means with one HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorCase {
    /// HTTP status.
    pub status: u16,
    /// Meaning.
    pub meaning: String,
    /// Whether the service is known not to have run the function.
    pub not_executed: bool,
    /// Whether a later attempt may succeed.
    pub transient: bool,
}
