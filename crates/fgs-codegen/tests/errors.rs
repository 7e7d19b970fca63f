//! A malformed spec is an error that names the JSON pointer and the problem, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use serde_json::{Value, json};

fn minimal() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": { "title": "t", "version": "1" },
        "paths": {
            "/things/{id}": {
                "get": {
                    "operationId": "getThing",
                    "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                    "responses": { "200": { "description": "ok" } }
                }
            }
        }
    })
}

fn error_of(spec: &Value) -> fgs_codegen::SpecError {
    let settings = fgs_codegen::Settings::new("cmd", "spec");
    match fgs_codegen::generate(&spec.to_string(), &settings) {
        Ok(_) => panic!("expected an error for {spec:#}"),
        Err(e) => e,
    }
}

fn assert_error(spec: Value, pointer: &str, fragment: &str) {
    let err = error_of(&spec);
    assert_eq!(err.pointer, pointer, "{err}");
    assert!(
        err.message.contains(fragment),
        "`{}` does not mention `{fragment}`",
        err.message
    );
    assert!(
        err.to_string().starts_with(&format!("spec error at {pointer}: ")),
        "{err}"
    );
}

#[test]
fn the_minimal_spec_is_valid() {
    let settings = fgs_codegen::Settings::new("cmd", "spec");
    assert!(fgs_codegen::generate(&minimal().to_string(), &settings).is_ok());
}

#[test]
fn not_json() {
    let err = fgs_codegen::generate("{ nope", &fgs_codegen::Settings::new("cmd", "spec")).unwrap_err();
    assert_eq!(err.pointer, "");
    assert!(err.message.starts_with("not valid JSON"), "{err}");
    assert!(err.to_string().starts_with("spec error at /: "), "{err}");
}

#[test]
fn wrong_openapi_version() {
    let mut spec = minimal();
    spec["openapi"] = json!("2.0");
    assert_error(spec, "/openapi", "only OpenAPI 3.x");
}

#[test]
fn missing_operation_id() {
    let mut spec = minimal();
    spec["paths"]["/things/{id}"]["get"]
        .as_object_mut()
        .unwrap()
        .remove("operationId");
    assert_error(
        spec,
        "/paths/~1things~1{id}/get",
        "missing required field `operationId`",
    );
}

#[test]
fn wrong_type_is_reported_where_it_is() {
    let mut spec = minimal();
    spec["paths"]["/things/{id}"]["get"]["parameters"][0]["name"] = json!(7);
    assert_error(
        spec,
        "/paths/~1things~1{id}/get/parameters/0/name",
        "expected a string, found a number",
    );
}

#[test]
fn undeclared_path_placeholder() {
    let mut spec = minimal();
    spec["paths"]["/things/{id}"]["get"]["parameters"] = json!([]);
    assert_error(
        spec,
        "/paths/~1things~1{id}/get",
        "path parameter `id` of `/things/{id}` is not declared",
    );
}

#[test]
fn dangling_reference() {
    let mut spec = minimal();
    spec["paths"]["/things/{id}"]["get"]["parameters"][0] = json!({ "$ref": "#/components/parameters/Nope" });
    assert_error(spec, "/paths/~1things~1{id}/get/parameters/0", "points at nothing");
}

#[test]
fn unsupported_parameter_location() {
    let mut spec = minimal();
    spec["paths"]["/things/{id}"]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "q", "in": "query", "schema": { "type": "string" } }));
    assert_error(
        spec,
        "/paths/~1things~1{id}/get/parameters/1/in",
        "`query` parameters are not supported",
    );
}

#[test]
fn misspelled_field() {
    let mut spec = minimal();
    spec["paths"]["/things/{id}"]["get"]["respones"] = json!({});
    assert_error(
        spec,
        "/paths/~1things~1{id}/get/respones",
        "unexpected field `respones`",
    );
}

#[test]
fn two_success_responses_are_unsupported() {
    let mut spec = minimal();
    spec["paths"]["/things/{id}"]["get"]["responses"]["201"] = json!({ "description": "also ok" });
    assert_error(spec, "/paths/~1things~1{id}/get/responses/201", "only one 2xx response");
}

#[test]
fn enum_variant_names_must_match_values() {
    let mut spec = minimal();
    spec["components"] =
        json!({ "schemas": { "Mode": { "type": "string", "enum": ["a", "b"], "x-enum-varnames": ["A"] } } });
    assert_error(spec, "/components/schemas/Mode/x-enum-varnames", "1 names for 2 values");
}

#[test]
fn keyword_type_names_are_refused() {
    let mut spec = minimal();
    spec["components"] = json!({ "schemas": { "Thing": { "type": "object", "x-rust-name": "Self" } } });
    assert_error(spec, "/components/schemas/Thing", "`Self` is a Rust keyword");
}

#[test]
fn conflicting_error_code_names() {
    let mut spec = minimal();
    spec["x-error-codes"] = json!([
        { "code": "E.1", "name": "One", "status": 400, "meaning": "m", "notExecuted": true, "transient": false },
        { "code": "E.1", "name": "Uno", "status": 404, "meaning": "m", "notExecuted": true, "transient": false }
    ]);
    assert_error(spec, "/x-error-codes/1/name", "code `E.1` is already named `One`");
}

#[test]
fn error_status_out_of_range() {
    let mut spec = minimal();
    spec["x-error-codes"] = json!([{ "code": "E.1", "name": "One", "status": 200, "meaning": "m", "notExecuted": true, "transient": false }]);
    assert_error(spec, "/x-error-codes/0/status", "between 400 and 599");
}

#[test]
fn error_responses_must_share_a_body() {
    let mut spec = minimal();
    spec["components"] = json!({ "schemas": {
        "A": { "type": "object", "properties": { "a": { "type": "string" } } },
        "B": { "type": "object", "properties": { "b": { "type": "string" } } }
    } });
    let responses = &mut spec["paths"]["/things/{id}"]["get"]["responses"];
    responses["400"] = json!({ "description": "a", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/A" } } } });
    responses["404"] = json!({ "description": "b", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/B" } } } });
    assert_error(
        spec,
        "/paths/~1things~1{id}/get/responses/404",
        "must share one body type",
    );
}
