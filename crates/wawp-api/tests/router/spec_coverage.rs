//! Every non-article, non-webhook route of the spec (with its `realPath`) is either routed or in
//! the pending list, never both; and neither list holds anything the spec does not.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn spec() -> Vec<Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec/endpoints.en.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("spec is JSON")
}

type Ops = BTreeSet<(String, String)>;

/// `/v2/labels/{labelId}` → `/v2/labels/{}`: axum needs one parameter name per position
/// (`/v2/labels/{id}` is also routed), so the route tables may rename path parameters.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn spec_ops() -> Ops {
    let mut ops = Ops::new();
    for entry in spec() {
        if entry["isArticle"].as_bool() == Some(true) || entry["category"] == "Webhooks" {
            continue;
        }
        let paths = [entry["path"].as_str(), entry["realPath"].as_str()];
        for method in entry["methods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            for path in paths.into_iter().flatten() {
                ops.insert((method.to_string(), shape(path)));
            }
        }
    }
    ops
}

fn routed() -> Ops {
    wawp_api::routed_operations()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_string(), shape(p)))
        .collect()
}

fn pending() -> Ops {
    let mut ops = Ops::new();
    for r in wawp_api::pending_operations() {
        for method in r.methods.split(',') {
            for path in std::iter::once(r.path).chain(r.real_path) {
                ops.insert((method.to_string(), shape(path)));
            }
        }
    }
    ops
}

#[test]
fn every_spec_route_is_routed_or_pending_and_never_both() {
    let (spec, routed, pending) = (spec_ops(), routed(), pending());
    assert!(spec.len() > 100, "spec has {} routes?", spec.len());
    let neither: Vec<_> = spec
        .iter()
        .filter(|op| !routed.contains(*op) && !pending.contains(*op))
        .collect();
    let both: Vec<_> = routed.intersection(&pending).collect();
    let extensions: Ops = wawp_api::extension_operations()
        .iter()
        .map(|(m, p)| (m.to_string(), shape(p)))
        .collect();
    let unknown_routed: Vec<_> = routed
        .difference(&spec)
        .filter(|op| !extensions.contains(*op))
        .collect();
    let stale_extensions: Vec<_> = extensions.difference(&routed).collect();
    assert!(
        stale_extensions.is_empty(),
        "listed as extensions but not routed: {stale_extensions:?}"
    );
    let unknown_pending: Vec<_> = pending.difference(&spec).collect();
    assert!(
        neither.is_empty(),
        "in the spec but neither routed nor pending: {neither:?}"
    );
    assert!(both.is_empty(), "routed AND pending: {both:?}");
    assert!(
        unknown_routed.is_empty(),
        "routed but not in the spec: {unknown_routed:?}"
    );
    assert!(
        unknown_pending.is_empty(),
        "pending but not in the spec: {unknown_pending:?}"
    );
}

/// `Create Session` → `create_session`; `Request Code (Phone Login)` → `request_code_phone_login`.
fn snake(title: &str) -> String {
    let mut out = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

#[test]
fn routed_spec_operations_carry_the_spec_title_and_category_in_openapi() {
    let doc = serde_json::to_value(wawp_api::openapi::document()).expect("serializes");
    let routed = routed();
    for entry in spec() {
        let Some(path) = entry["path"].as_str() else {
            continue;
        };
        for method in entry["methods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !routed.contains(&(method.to_string(), shape(path))) {
                continue;
            }
            let doc_path = doc["paths"]
                .as_object()
                .and_then(|paths| paths.keys().find(|k| shape(k) == shape(path)).cloned())
                .unwrap_or_else(|| panic!("{method} {path} missing from the OpenAPI document"));
            let op = &doc["paths"][doc_path.as_str()][method.to_ascii_lowercase()];
            let title = entry["title"].as_str().unwrap_or_default();
            assert_eq!(op["operationId"], snake(title), "{method} {path}");
            assert_eq!(op["tags"][0], entry["category"], "{method} {path}");
        }
    }
}
