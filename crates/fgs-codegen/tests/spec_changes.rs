//! The generator has no FunctionGraph knowledge: changing the spec changes the code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use serde_json::{Value, json};

fn spec() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/functiongraph.openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn file(spec: &Value, name: &str) -> String {
    let files = fgs_codegen::generate(&spec.to_string(), &fgs_codegen::Settings::new("cmd", "spec")).unwrap();
    files.into_iter().find(|f| f.path == name).unwrap().contents
}

const INVOKE: &str = "/v2/{project_id}/fgs/functions/{function_urn}/invocations";

#[test]
fn a_new_request_header_becomes_a_field_and_is_written() {
    let before = file(&spec(), "operations.rs");
    let mut changed = spec();
    changed["paths"][INVOKE]["post"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "name": "X-Cff-Trace-Id", "in": "header", "required": false, "schema": { "type": "string" }
        }));
    let after = file(&changed, "operations.rs");
    assert!(!before.contains("x_cff_trace_id"));
    assert!(after.contains("pub x_cff_trace_id: Option<String>,"), "{after}");
    assert!(
        after.contains(r#"http::HeaderName::from_static("x-cff-trace-id")"#),
        "{after}"
    );
}

#[test]
fn a_new_response_header_becomes_a_typed_field() {
    let mut changed = spec();
    changed["paths"][INVOKE]["post"]["responses"]["200"]["headers"]["X-Cff-Cold-Start"] =
        json!({ "schema": { "type": "boolean" } });
    let after = file(&changed, "operations.rs");
    assert!(after.contains("pub x_cff_cold_start: Option<bool>,"), "{after}");
    assert!(after.contains("header_bool("), "{after}");
    assert!(after.contains(r#"from_static("x-cff-cold-start")"#), "{after}");
    assert!(after.contains(r#""X-Cff-Cold-Start","#), "{after}");
}

#[test]
fn a_new_operation_gets_its_own_types() {
    let mut changed = spec();
    changed["paths"]["/v2/{project_id}/fgs/functions/{function_urn}/config"] = json!({
        "get": {
            "operationId": "showFunctionConfig",
            "parameters": [
                { "$ref": "#/components/parameters/ProjectId" },
                { "$ref": "#/components/parameters/FunctionUrn" }
            ],
            "responses": { "200": { "description": "The configuration." }, "404": { "$ref": "#/components/responses/Error" } }
        }
    });
    let after = file(&changed, "operations.rs");
    assert!(after.contains("pub struct ShowFunctionConfig;"), "{after}");
    assert!(after.contains("pub struct ShowFunctionConfigRequest"), "{after}");
    assert!(after.contains("<ShowFunctionConfig as Operation>::INFO"), "{after}");
}

#[test]
fn a_new_error_code_joins_the_enum_and_catalogue() {
    let mut changed = spec();
    changed["x-error-codes"].as_array_mut().unwrap().push(json!({
        "code": "FSS.9999", "name": "BrandNew", "status": 503, "meaning": "Something new", "notExecuted": true, "transient": true
    }));
    let after = file(&changed, "error_codes.rs");
    assert!(after.contains("BrandNew,"), "{after}");
    assert!(after.contains(r#""FSS.9999" => Self::BrandNew"#), "{after}");
    assert!(after.contains(r#"meaning: "Something new""#), "{after}");
}

#[test]
fn a_new_enum_value_becomes_a_variant() {
    let mut changed = spec();
    changed["components"]["schemas"]["InstanceMemory"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("16384"));
    changed["components"]["schemas"]["InstanceMemory"]["x-enum-varnames"]
        .as_array_mut()
        .unwrap()
        .push(json!("Mb16384"));
    let after = file(&changed, "types.rs");
    assert!(after.contains(r#""16384" => Self::Mb16384"#), "{after}");
}
