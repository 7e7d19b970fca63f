//! OpenAPI document → [`Api`]. Every error names the JSON pointer of the offending value.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::model::*;
use crate::names;

/// Why a spec could not be turned into code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// JSON pointer (RFC 6901) of the offending value; empty for the document itself.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "spec error at {pointer}: {}", self.message)
    }
}

impl std::error::Error for SpecError {}

type Result<T> = std::result::Result<T, SpecError>;

/// A value in the document together with its JSON pointer.
#[derive(Clone)]
struct Node<'a> {
    value: &'a Value,
    pointer: String,
}

impl<'a> Node<'a> {
    fn error(&self, message: impl Into<String>) -> SpecError {
        SpecError {
            pointer: self.pointer.clone(),
            message: message.into(),
        }
    }

    fn child(&self, key: &str, value: &'a Value) -> Node<'a> {
        let escaped = key.replace('~', "~0").replace('/', "~1");
        Node {
            value,
            pointer: format!("{}/{escaped}", self.pointer),
        }
    }

    fn object(&self) -> Result<&'a Map<String, Value>> {
        self.value
            .as_object()
            .ok_or_else(|| self.error(format!("expected an object, found {}", kind(self.value))))
    }

    fn get(&self, key: &str) -> Result<Option<Node<'a>>> {
        Ok(self.object()?.get(key).map(|v| self.child(key, v)))
    }

    fn require(&self, key: &str) -> Result<Node<'a>> {
        self.get(key)?
            .ok_or_else(|| self.error(format!("missing required field `{key}`")))
    }

    fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>> {
        Ok(self
            .object()?
            .iter()
            .map(|(k, v)| (k.as_str(), self.child(k, v)))
            .collect())
    }

    fn items(&self) -> Result<Vec<Node<'a>>> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.error(format!("expected an array, found {}", kind(self.value))))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(i, v)| self.child(&i.to_string(), v))
            .collect())
    }

    fn str(&self) -> Result<&'a str> {
        self.value
            .as_str()
            .ok_or_else(|| self.error(format!("expected a string, found {}", kind(self.value))))
    }

    fn bool(&self) -> Result<bool> {
        self.value
            .as_bool()
            .ok_or_else(|| self.error(format!("expected a boolean, found {}", kind(self.value))))
    }

    fn u64(&self) -> Result<u64> {
        self.value
            .as_u64()
            .ok_or_else(|| self.error(format!("expected a non-negative integer, found {}", kind(self.value))))
    }

    fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        self.get(key)?.map(|n| n.str()).transpose()
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)?.map(|n| n.bool()).transpose()
    }

    /// Fails on keys that are neither listed nor vendor extensions, so that a typo in the
    /// spec is reported instead of silently changing the generated code.
    fn only_keys(&self, allowed: &[&str]) -> Result<()> {
        for key in self.object()?.keys() {
            if !key.starts_with("x-") && !allowed.contains(&key.as_str()) {
                let node = self.child(key, &Value::Null);
                return Err(node.error(format!(
                    "unexpected field `{key}` (allowed here: {})",
                    allowed.join(", ")
                )));
            }
        }
        Ok(())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

struct Parser<'a> {
    root: Node<'a>,
    /// Schema component names → Rust type names.
    schema_names: BTreeMap<String, String>,
    header_sets: Vec<HeaderSet>,
}

/// Parses an OpenAPI 3 JSON document into the model.
pub fn parse(text: &str) -> Result<Api> {
    let value: Value = serde_json::from_str(text).map_err(|e| SpecError {
        pointer: String::new(),
        message: format!("not valid JSON: {e}"),
    })?;
    let root = Node {
        value: &value,
        pointer: String::new(),
    };
    let mut parser = Parser {
        root: root.clone(),
        schema_names: BTreeMap::new(),
        header_sets: Vec::new(),
    };
    parser.api()
}

impl<'a> Parser<'a> {
    fn api(&mut self) -> Result<Api> {
        let root = self.root.clone();
        let (title, version) = document_info(&root)?;
        let components = root.get("components")?;
        let schemas = match &components {
            Some(c) => c.get("schemas")?,
            None => None,
        };
        let (enums, structs) = match &schemas {
            Some(schemas) => {
                self.name_schemas(schemas)?;
                self.schema_defs(schemas)?
            }
            None => (Vec::new(), Vec::new()),
        };
        let security_headers = match &components {
            Some(c) => self.security_headers(c)?,
            None => Vec::new(),
        };
        let operations = self.operations(&root)?;
        let error_codes = match root.get("x-error-codes")? {
            Some(node) => error_codes(&node)?,
            None => Vec::new(),
        };
        Ok(Api {
            title,
            version,
            enums,
            structs,
            security_headers,
            header_sets: std::mem::take(&mut self.header_sets),
            operations,
            error_codes,
        })
    }

    /// Gives every schema its Rust name (`x-rust-name` or the key in PascalCase), checking
    /// that no two schemas share one.
    fn name_schemas(&mut self, schemas: &Node<'a>) -> Result<()> {
        for (name, node) in schemas.entries()? {
            let rust = match node.opt_str("x-rust-name")? {
                Some(r) => r.to_owned(),
                None => names::pascal(name),
            };
            names::check_type_name(&rust).map_err(|m| node.error(m))?;
            self.schema_names.insert(name.to_owned(), rust);
        }
        let mut seen = HashSet::new();
        for (name, node) in schemas.entries()? {
            let rust = &self.schema_names[name];
            if !seen.insert(rust.clone()) {
                return Err(node.error(format!("two schemas map to the Rust name `{rust}`")));
            }
        }
        Ok(())
    }

    /// The named schemas, each a string enum or an object type.
    fn schema_defs(&self, schemas: &Node<'a>) -> Result<(Vec<EnumDef>, Vec<StructDef>)> {
        let mut enums = Vec::new();
        let mut structs = Vec::new();
        for (name, node) in schemas.entries()? {
            let rust = self.schema_names[name].clone();
            if node.get("enum")?.is_some() {
                enums.push(self.enum_def(rust, &node)?);
            } else {
                structs.push(self.struct_def(rust, &node)?);
            }
        }
        Ok((enums, structs))
    }

    /// The header names of the `apiKey`-in-header security schemes.
    fn security_headers(&self, components: &Node<'a>) -> Result<Vec<SecurityHeader>> {
        let mut security_headers = Vec::new();
        if let Some(schemes) = components.get("securitySchemes")? {
            for (key, node) in schemes.entries()? {
                let node = self.resolve(node)?;
                if node.require("type")?.str()? == "apiKey" && node.require("in")?.str()? == "header" {
                    security_headers.push(SecurityHeader {
                        scheme: key.to_owned(),
                        header: node.require("name")?.str()?.to_owned(),
                        doc: node.opt_str("description")?.map(str::to_owned),
                    });
                }
            }
        }
        Ok(security_headers)
    }

    /// Every operation of every path, in document order, checking that no two share a
    /// Rust name.
    fn operations(&mut self, root: &Node<'a>) -> Result<Vec<Operation>> {
        let mut operations = Vec::new();
        for (path, item) in root.require("paths")?.entries()? {
            self.path_item(path, &item, &mut operations)?;
        }
        let mut op_names = HashSet::new();
        for op in &operations {
            if !op_names.insert(op.name.clone()) {
                return Err(root.error(format!("two operations map to the Rust name `{}`", op.name)));
            }
        }
        Ok(operations)
    }

    /// The operations of one path, with the parameters they share.
    fn path_item(&mut self, path: &str, item: &Node<'a>, operations: &mut Vec<Operation>) -> Result<()> {
        item.only_keys(&[
            "summary",
            "description",
            "parameters",
            "servers",
            "get",
            "put",
            "post",
            "delete",
            "patch",
            "head",
            "options",
            "trace",
        ])?;
        let shared_params = match item.get("parameters")? {
            Some(p) => p.items()?,
            None => Vec::new(),
        };
        for (method, op) in item.entries()? {
            if METHODS.contains(&method) {
                operations.push(self.operation(path, method, &op, &shared_params)?);
            } else if method == "trace" {
                return Err(op.error("the TRACE method is not supported"));
            }
        }
        Ok(())
    }

    /// Follows a local `$ref`; the returned node points at the target.
    fn resolve(&self, node: Node<'a>) -> Result<Node<'a>> {
        let mut node = node;
        for _ in 0..16 {
            let Some(reference) = node.opt_str("$ref")? else {
                return Ok(node);
            };
            let Some(pointer) = reference.strip_prefix('#') else {
                return Err(node.error(format!(
                    "only local references (`#/...`) are supported, found `{reference}`"
                )));
            };
            let target = self
                .root
                .value
                .pointer(pointer)
                .ok_or_else(|| node.error(format!("reference `{reference}` points at nothing")))?;
            node = Node {
                value: target,
                pointer: pointer.to_owned(),
            };
        }
        Err(node.error("reference chain is too long (a cycle?)"))
    }

    fn type_ref(&self, node: &Node<'a>) -> Result<TypeRef> {
        if let Some(reference) = node.opt_str("$ref")? {
            let name = reference.strip_prefix("#/components/schemas/").ok_or_else(|| {
                node.error(format!(
                    "a schema reference must point into #/components/schemas, found `{reference}`"
                ))
            })?;
            let rust = self
                .schema_names
                .get(name)
                .ok_or_else(|| node.error(format!("reference `{reference}` points at no schema")))?;
            return Ok(TypeRef::Named(rust.clone()));
        }
        let Some(ty) = node.opt_str("type")? else {
            return Ok(TypeRef::Json);
        };
        Ok(match ty {
            "string" => {
                if node.get("enum")?.is_some() {
                    return Err(node.error(
                        "inline enums are not supported; declare the enum in #/components/schemas and refer to it",
                    ));
                }
                TypeRef::String
            }
            "boolean" => TypeRef::Bool,
            "integer" => match node.opt_str("format")? {
                Some("int32") => TypeRef::I32,
                Some("int64") | None => TypeRef::I64,
                Some(other) => return Err(node.error(format!("unsupported integer format `{other}`"))),
            },
            "number" => TypeRef::F64,
            "array" => TypeRef::Vec(Box::new(self.type_ref(&node.require("items")?)?)),
            "object" => TypeRef::Json,
            other => {
                return Err(node
                    .require("type")?
                    .error(format!("unsupported schema type `{other}`")));
            }
        })
    }

    fn enum_def(&self, name: String, node: &Node<'a>) -> Result<EnumDef> {
        let ty = node.require("type")?;
        if ty.str()? != "string" {
            return Err(ty.error("only string enums are supported"));
        }
        let values = node.require("enum")?.items()?;
        if values.is_empty() {
            return Err(node.require("enum")?.error("an enum needs at least one value"));
        }
        let varnames = parallel_list(node, "x-enum-varnames", "names", values.len())?;
        let descriptions = parallel_list(node, "x-enum-descriptions", "descriptions", values.len())?;
        let mut variants = Vec::new();
        let mut seen_names = HashSet::new();
        let mut seen_values = HashSet::new();
        for (i, value_node) in values.iter().enumerate() {
            let value = value_node.str()?.to_owned();
            let (variant, at) = match &varnames {
                Some(names) => (names[i].str()?.to_owned(), names[i].clone()),
                None => (names::pascal(&value), value_node.clone()),
            };
            names::check_type_name(&variant).map_err(|m| at.error(m))?;
            if variant == "Unknown" {
                return Err(at.error("`Unknown` is reserved for values the spec does not list"));
            }
            if !seen_names.insert(variant.clone()) {
                return Err(at.error(format!("duplicate variant name `{variant}`")));
            }
            if !seen_values.insert(value.clone()) {
                return Err(value_node.error(format!("duplicate enum value `{value}`")));
            }
            let doc = match &descriptions {
                Some(d) => Some(d[i].str()?.to_owned()),
                None => None,
            };
            variants.push(EnumVariant {
                name: variant,
                value,
                doc,
            });
        }
        Ok(EnumDef {
            name,
            doc: node.opt_str("description")?.map(str::to_owned),
            variants,
        })
    }

    fn struct_def(&self, name: String, node: &Node<'a>) -> Result<StructDef> {
        let ty = node.require("type")?;
        if ty.str()? != "object" {
            return Err(ty.error("a named schema must be an object or a string enum"));
        }
        let required: HashSet<&str> = match node.get("required")? {
            Some(r) => r.items()?.iter().map(|n| n.str()).collect::<Result<_>>()?,
            None => HashSet::new(),
        };
        let mut fields = Vec::new();
        let mut seen = HashSet::new();
        if let Some(props) = node.get("properties")? {
            for (json_name, prop) in props.entries()? {
                let rust_name = match prop.opt_str("x-rust-name")? {
                    Some(r) => r.to_owned(),
                    None => names::snake(json_name),
                };
                names::check_field_name(&rust_name).map_err(|m| prop.error(m))?;
                if !seen.insert(rust_name.clone()) {
                    return Err(prop.error(format!("two properties map to the Rust field `{rust_name}`")));
                }
                let aliases = match prop.get("x-aliases")? {
                    Some(list) => list
                        .items()?
                        .iter()
                        .map(|n| n.str().map(str::to_owned))
                        .collect::<Result<Vec<_>>>()?,
                    None => Vec::new(),
                };
                fields.push(Field {
                    rust_name,
                    json_name: json_name.to_owned(),
                    ty: self.type_ref(&prop)?,
                    required: required.contains(json_name),
                    aliases,
                    doc: prop.opt_str("description")?.map(str::to_owned),
                });
            }
        }
        if let Some(r) = node.get("required")? {
            for item in r.items()? {
                if !fields.iter().any(|f| f.json_name == item.str().unwrap_or_default()) {
                    return Err(item.error(format!("required property `{}` is not declared", item.str()?)));
                }
            }
        }
        let additional_properties = match node.get("additionalProperties")? {
            None => false,
            Some(n) => match n.value {
                Value::Bool(b) => *b,
                Value::Object(_) => true,
                _ => return Err(n.error("expected a boolean or a schema")),
            },
        };
        if additional_properties && seen.contains("additional") {
            return Err(node.error("a property maps to `additional`, which holds the undeclared properties"));
        }
        Ok(StructDef {
            name,
            doc: node.opt_str("description")?.map(str::to_owned),
            fields,
            additional_properties,
        })
    }

    fn header_type(&self, node: &Node<'a>) -> Result<HeaderType> {
        if let Some(content) = node.get("content")? {
            let json = content
                .get("application/json")?
                .ok_or_else(|| content.error("a header with `content` must use application/json"))?;
            return Ok(HeaderType::Json(self.type_ref(&json.require("schema")?)?));
        }
        let schema = node.require("schema")?;
        Ok(match self.type_ref(&schema)? {
            TypeRef::String => HeaderType::String,
            TypeRef::Bool => HeaderType::Bool,
            TypeRef::I32 | TypeRef::I64 => HeaderType::Integer,
            TypeRef::F64 => HeaderType::Number,
            TypeRef::Named(name) if self.is_enum(&name) => HeaderType::Enum(name),
            other => return Err(schema.error(format!("unsupported header type {other:?}; use a string, boolean, integer, number, enum, or `content: application/json`"))),
        })
    }

    fn is_enum(&self, rust_name: &str) -> bool {
        let schemas = self
            .root
            .value
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        self.schema_names.iter().any(|(key, rust)| {
            rust == rust_name
                && schemas
                    .and_then(|s| s.get(key))
                    .is_some_and(|s| s.get("enum").is_some())
        })
    }

    fn operation(
        &mut self,
        path: &str,
        method: &str,
        node: &Node<'a>,
        shared_params: &[Node<'a>],
    ) -> Result<Operation> {
        node.only_keys(&[
            "operationId",
            "summary",
            "description",
            "x-max-run-seconds",
            "parameters",
            "requestBody",
            "responses",
            "tags",
            "security",
            "deprecated",
            "servers",
            "externalDocs",
        ])?;
        let id_node = node.require("operationId")?;
        let id = id_node.str()?.to_owned();
        let name = names::pascal(&id);
        names::check_type_name(&name).map_err(|m| id_node.error(m))?;
        let (path_params, headers) = self.parameters(node, shared_params)?;
        let path_params = match_path_template(path, node, path_params)?;
        let (request_content_types, max_body_bytes) = self.request_body(node)?;
        let (success, error) = self.responses(&name, node)?;
        Ok(Operation {
            id,
            name,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            summary: node.opt_str("summary")?.map(str::to_owned),
            description: node.opt_str("description")?.map(str::to_owned),
            path_params,
            headers,
            request_content_types,
            max_body_bytes,
            max_run_seconds: node.get("x-max-run-seconds")?.map(|n| n.u64()).transpose()?,
            success,
            error,
        })
    }

    /// The path item's shared parameters, then the operation's own, each read as a path
    /// parameter or a request header; no two may map to the same Rust field.
    fn parameters(&self, node: &Node<'a>, shared_params: &[Node<'a>]) -> Result<(Vec<PathParam>, Vec<Header>)> {
        let mut path_params = Vec::new();
        let mut headers = Vec::new();
        let mut params: Vec<Node<'a>> = shared_params.to_vec();
        if let Some(p) = node.get("parameters")? {
            params.extend(p.items()?);
        }
        let mut field_names = HashSet::new();
        for param in params {
            let param = self.resolve(param)?;
            let (common, location) = param_common(&param)?;
            match location.str()? {
                "path" => path_params.push(self.path_param(&param, common, &mut field_names)?),
                "header" => headers.extend(self.header_param(&param, common, &mut field_names)?),
                other => {
                    return Err(location.error(format!("`{other}` parameters are not supported; only path and header")));
                }
            }
        }
        Ok((path_params, headers))
    }

    /// A path parameter: required, a string, and with a Rust field of its own.
    fn path_param(
        &self,
        param: &Node<'a>,
        common: ParamCommon,
        field_names: &mut HashSet<String>,
    ) -> Result<PathParam> {
        let ParamCommon {
            name,
            rust_name,
            doc,
            required,
        } = common;
        if !required {
            return Err(param.error("path parameters must be `required: true`"));
        }
        if self.type_ref(&param.require("schema")?)? != TypeRef::String {
            return Err(param.error("path parameters must be strings"));
        }
        if !field_names.insert(rust_name.clone()) {
            return Err(param.error(format!("two parameters map to the Rust field `{rust_name}`")));
        }
        Ok(PathParam { name, rust_name, doc })
    }

    /// A request header, or `None` for one OpenAPI says to ignore.
    fn header_param(
        &self,
        param: &Node<'a>,
        common: ParamCommon,
        field_names: &mut HashSet<String>,
    ) -> Result<Option<Header>> {
        let ParamCommon {
            name,
            rust_name,
            doc,
            required,
        } = common;
        // OpenAPI 3: these three are described elsewhere and a header parameter
        // with one of their names "SHALL be ignored".
        if ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str()) {
            return Ok(None);
        }
        if !names::is_header_name(&name) {
            return Err(param.error(format!("`{name}` is not a valid header name")));
        }
        if !field_names.insert(rust_name.clone()) {
            return Err(param.error(format!("two parameters map to the Rust field `{rust_name}`")));
        }
        let ty = self.header_type(param)?;
        Ok(Some(Header {
            name,
            rust_name,
            ty,
            required,
            doc,
        }))
    }

    /// The request body's media types (none without a body) and `x-max-body-bytes`.
    fn request_body(&self, node: &Node<'a>) -> Result<(Vec<String>, Option<u64>)> {
        let Some(body) = node.get("requestBody")? else {
            return Ok((Vec::new(), None));
        };
        let body = self.resolve(body)?;
        let content = body.require("content")?;
        let types: Vec<String> = content.entries()?.into_iter().map(|(k, _)| k.to_owned()).collect();
        if types.is_empty() {
            return Err(content.error("a request body needs at least one media type"));
        }
        let max = body.get("x-max-body-bytes")?.map(|n| n.u64()).transpose()?;
        Ok((types, max))
    }

    /// The one 2xx response and the error response every 4xx/5xx status shares.
    fn responses(&mut self, name: &str, node: &Node<'a>) -> Result<(Response, Option<Response>)> {
        let responses = node.require("responses")?;
        let mut success = None;
        let mut error: Option<Response> = None;
        for (status_text, response) in responses.entries()? {
            let status = response_status(status_text, &response)?;
            let is_success = (200..300).contains(&status);
            let set_name = header_set_name(name, status, &response)?;
            if is_success && success.is_some() {
                return Err(response.error("only one 2xx response per operation is supported"));
            }
            let response = self.resolve(response)?;
            let parsed = self.response(status, set_name, &response)?;
            if is_success {
                success = Some(parsed);
            } else if status >= 400 {
                match &error {
                    None => error = Some(parsed),
                    Some(first) if first.json_body == parsed.json_body && first.headers == parsed.headers => {}
                    Some(first) => {
                        return Err(response.error(format!(
                            "every error response of an operation must share one body type and header set; status {} differs from status {}",
                            status, first.status
                        )));
                    }
                }
            } else {
                return Err(response.error("1xx and 3xx responses are not supported"));
            }
        }
        let success = success.ok_or_else(|| responses.error("an operation needs one 2xx response"))?;
        Ok((success, error))
    }

    fn response(&mut self, status: u16, set_name: String, node: &Node<'a>) -> Result<Response> {
        node.only_keys(&["description", "headers", "content", "links"])?;
        let mut headers = Vec::new();
        let mut seen = HashSet::new();
        if let Some(h) = node.get("headers")? {
            for (header_name, header) in h.entries()? {
                let header = self.resolve(header)?;
                header.only_keys(&[
                    "description",
                    "required",
                    "schema",
                    "content",
                    "deprecated",
                    "example",
                    "examples",
                    "style",
                    "explode",
                ])?;
                if !names::is_header_name(header_name) {
                    return Err(header.error(format!("`{header_name}` is not a valid header name")));
                }
                let rust_name = match header.opt_str("x-rust-name")? {
                    Some(r) => r.to_owned(),
                    None => names::snake(header_name),
                };
                names::check_field_name(&rust_name).map_err(|m| header.error(m))?;
                if !seen.insert(rust_name.clone()) {
                    return Err(header.error(format!("two headers map to the Rust field `{rust_name}`")));
                }
                headers.push(Header {
                    name: header_name.to_owned(),
                    rust_name,
                    ty: self.header_type(&header)?,
                    required: header.opt_bool("required")?.unwrap_or(false),
                    doc: header.opt_str("description")?.map(str::to_owned),
                });
            }
        }
        let set = HeaderSet {
            name: set_name.clone(),
            doc: node.opt_str("description")?.unwrap_or("Response headers.").to_owned(),
            headers,
        };
        match self.header_sets.iter().find(|s| s.name == set_name) {
            Some(existing) if *existing != set => {
                return Err(node.error(format!("two different header sets are named `{set_name}`")));
            }
            Some(_) => {}
            None => self.header_sets.push(set),
        }
        let mut json_body = None;
        if let Some(content) = node.get("content")? {
            for (media, media_node) in content.entries()? {
                if media == "application/json" {
                    json_body = Some(self.type_ref(&media_node.require("schema")?)?);
                }
            }
        }
        Ok(Response {
            status,
            headers: set_name,
            json_body,
        })
    }
}

/// The OpenAPI version (3.x only), then `info.title` and `info.version`.
fn document_info(root: &Node<'_>) -> Result<(String, String)> {
    let version = root.require("openapi")?;
    if !version.str()?.starts_with("3.") {
        return Err(version.error(format!("only OpenAPI 3.x is supported, found `{}`", version.str()?)));
    }
    let info = root.require("info")?;
    let title = info.require("title")?.str()?.to_owned();
    let api_version = info.require("version")?.str()?.to_owned();
    Ok((title, api_version))
}

/// What every parameter has, whatever its location.
struct ParamCommon {
    name: String,
    rust_name: String,
    doc: Option<String>,
    required: bool,
}

/// The fields every parameter has, and its `in` node (read by the caller).
fn param_common<'a>(param: &Node<'a>) -> Result<(ParamCommon, Node<'a>)> {
    param.only_keys(&[
        "name",
        "in",
        "required",
        "description",
        "schema",
        "content",
        "deprecated",
        "example",
        "examples",
        "style",
        "explode",
    ])?;
    let name = param.require("name")?.str()?.to_owned();
    let location = param.require("in")?;
    let rust_name = match param.opt_str("x-rust-name")? {
        Some(r) => r.to_owned(),
        None => names::snake(&name),
    };
    names::check_field_name(&rust_name).map_err(|m| param.error(m))?;
    let doc = param.opt_str("description")?.map(str::to_owned);
    let required = param.opt_bool("required")?.unwrap_or(false);
    let common = ParamCommon {
        name,
        rust_name,
        doc,
        required,
    };
    Ok((common, location))
}

/// The template and the declared path parameters must agree, or the generated `path()`
/// would silently drop a value or leave a `{placeholder}` on the wire. Returns the
/// parameters in template order.
fn match_path_template(path: &str, node: &Node<'_>, mut path_params: Vec<PathParam>) -> Result<Vec<PathParam>> {
    let template_params = names::template_params(path).map_err(|m| node.error(format!("path `{path}`: {m}")))?;
    for tp in &template_params {
        if !path_params.iter().any(|p| &p.name == tp) {
            return Err(node.error(format!("path parameter `{tp}` of `{path}` is not declared")));
        }
    }
    for p in &path_params {
        if !template_params.contains(&p.name) {
            return Err(node.error(format!(
                "parameter `{}` is declared in the path but `{path}` has no such placeholder",
                p.name
            )));
        }
    }
    path_params.sort_by_key(|p| template_params.iter().position(|t| t == &p.name));
    Ok(path_params)
}

/// A response's status code: a number from 100 to 599 (no `default`, no ranges).
fn response_status(status_text: &str, response: &Node<'_>) -> Result<u16> {
    status_text
        .parse()
        .ok()
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| {
            response.error(format!(
                "`{status_text}` is not an HTTP status code (`default` and ranges are not supported)"
            ))
        })
}

/// The name of a response's header set: from the referenced component, or from the
/// operation and the status.
fn header_set_name(operation: &str, status: u16, response: &Node<'_>) -> Result<String> {
    Ok(match response.opt_str("$ref")? {
        Some(r) => match r.strip_prefix("#/components/responses/") {
            Some(component) => format!("{}Headers", names::pascal(component)),
            None => return Err(response.error("a response reference must point into #/components/responses")),
        },
        None if (200..300).contains(&status) => format!("{operation}ResponseHeaders"),
        None => format!("{operation}Error{status}Headers"),
    })
}

/// An optional array extension with one entry per enum value.
fn parallel_list<'a>(node: &Node<'a>, key: &str, what: &str, len: usize) -> Result<Option<Vec<Node<'a>>>> {
    let Some(list) = node.get(key)? else { return Ok(None) };
    let items = list.items()?;
    if items.len() != len {
        return Err(list.error(format!("{} {what} for {len} values", items.len())));
    }
    Ok(Some(items))
}

fn error_codes(node: &Node<'_>) -> Result<Vec<ErrorCode>> {
    let mut codes: Vec<ErrorCode> = Vec::new();
    for entry in node.items()? {
        entry.only_keys(&["code", "name", "status", "meaning", "notExecuted", "transient"])?;
        let code = entry.require("code")?.str()?.to_owned();
        let name_node = entry.require("name")?;
        let name = name_node.str()?.to_owned();
        names::check_type_name(&name).map_err(|m| name_node.error(m))?;
        if name == "Unknown" {
            return Err(name_node.error("`Unknown` is reserved for codes the spec does not list"));
        }
        let status_node = entry.require("status")?;
        let status = u16::try_from(status_node.u64()?)
            .ok()
            .filter(|s| (400..600).contains(s))
            .ok_or_else(|| status_node.error("an error status must be between 400 and 599"))?;
        let case = ErrorCase {
            status,
            meaning: entry.require("meaning")?.str()?.to_owned(),
            not_executed: entry.require("notExecuted")?.bool()?,
            transient: entry.require("transient")?.bool()?,
        };
        match codes.iter_mut().find(|c| c.code == code) {
            Some(existing) => {
                if existing.name != name {
                    return Err(name_node.error(format!("code `{code}` is already named `{}`", existing.name)));
                }
                if existing.cases.iter().any(|c| c.status == status) {
                    return Err(status_node.error(format!("code `{code}` already has an entry for status {status}")));
                }
                existing.cases.push(case);
            }
            None => {
                if codes.iter().any(|c| c.name == name) {
                    return Err(name_node.error(format!("name `{name}` is already used by another code")));
                }
                codes.push(ErrorCode {
                    code,
                    name,
                    cases: vec![case],
                });
            }
        }
    }
    Ok(codes)
}
