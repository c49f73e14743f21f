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
                ops.insert((method.to_string(), path.to_string()));
            }
        }
    }
    ops
}

fn routed() -> Ops {
    wawp_api::routed_operations()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_string(), p.to_string()))
        .collect()
}

fn pending() -> Ops {
    let mut ops = Ops::new();
    for r in wawp_api::pending_operations() {
        for method in r.methods.split(',') {
            for path in std::iter::once(r.path).chain(r.real_path) {
                ops.insert((method.to_string(), path.to_string()));
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
    let unknown_routed: Vec<_> = routed.difference(&spec).collect();
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
