//! `openapi.yaml` as a check: every response any test sees must be one the
//! document declares, with a body valid against its schema and the headers
//! it requires.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use jsonschema::{Draft, Validator};
use serde_json::Value;

use super::{Reply, Route};

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .expect("openapi.yaml");
        serde_yaml_ng::from_str(&text).expect("openapi.yaml parses")
    })
}

fn escape(segment: &str) -> String {
    // A JSON pointer in a URI fragment: `~` and `/` escaped, then braces
    // percent-encoded.
    segment
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// A validator for the schema at `pointer` inside the document.
fn validator(pointer: &str) -> &'static Validator {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static Validator>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.entry(pointer.to_owned()).or_insert_with(|| {
        let mut root = document().clone();
        root.as_object_mut()
            .unwrap()
            .insert("$ref".into(), Value::from(pointer));
        let compiled = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("openapi.yaml schema at {pointer}: {e}"));
        Box::leak(Box::new(compiled))
    })
}

/// Panics unless `reply` is a response `openapi.yaml` declares for `route`.
pub fn check(route: Route, reply: &Reply) {
    let path = route.path();
    let method = route.method().to_ascii_lowercase();
    let status = reply.status.to_string();
    let operation = format!("#/paths/{}/{method}", escape(path));
    let declared = &document()["paths"][path][method.as_str()]["responses"][&status];
    assert!(
        declared.is_object(),
        "openapi.yaml declares no {status} for {method} {path}: {}",
        reply.text
    );
    let (response, base) = match declared["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/responses/");
            (
                &document()["components"]["responses"][name],
                reference.to_owned(),
            )
        }
        None => (declared, format!("{operation}/responses/{status}")),
    };
    // Required headers are there; every declared header that is there
    // matches its schema.
    if let Some(headers) = response["headers"].as_object() {
        for (name, declared) in headers {
            let (header, pointer) = match declared["$ref"].as_str() {
                Some(reference) => {
                    let component = reference.trim_start_matches("#/components/headers/");
                    (
                        &document()["components"]["headers"][component],
                        format!("{reference}/schema"),
                    )
                }
                None => (declared, format!("{base}/headers/{}/schema", escape(name))),
            };
            match reply.header(name) {
                None => assert!(
                    header["required"] != true,
                    "{method} {path} {status}: header {name} missing"
                ),
                Some(value) if header["schema"].is_object() => {
                    // A header is text; a number-typed one is read as a number.
                    let value = match header["schema"]["type"].as_str() {
                        Some("integer" | "number") => value
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| Value::from(value)),
                        _ => Value::from(value),
                    };
                    let errors: Vec<String> = validator(&pointer)
                        .iter_errors(&value)
                        .map(|e| e.to_string())
                        .collect();
                    assert!(
                        errors.is_empty(),
                        "{method} {path} {status}: header {name} {value}: {errors:?}"
                    );
                }
                Some(_) => {}
            }
        }
    }
    match response["content"]["application/json"]["schema"].is_object() {
        true => {
            assert_eq!(reply.header("content-type"), Some("application/json"));
            let pointer = format!("{base}/content/application~1json/schema");
            let errors: Vec<String> = validator(&pointer)
                .iter_errors(&reply.json)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{method} {path} {status} does not match openapi.yaml: {errors:?}\n{}",
                reply.text
            );
        }
        false => assert_eq!(reply.text, "", "{method} {path} {status} has no body"),
    }
}
