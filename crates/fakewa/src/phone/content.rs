//! What kind of content a received message carries, and its fields as JSON for the inbox.

use serde_json::Value;
use waproto::whatsapp as wa;

/// Top-level fields that are envelope, not content.
const ENVELOPE: &[&str] = &["message_context_info"];

/// Drops nulls, empty arrays and empty objects, recursively. `true` when nothing is left.
fn prune(v: &mut Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => {
            a.is_empty() || {
                // Bytes serialize as arrays of numbers: keep them, prune only nested objects.
                for item in a.iter_mut() {
                    if item.is_object() {
                        prune(item);
                    }
                }
                false
            }
        }
        Value::Object(o) => {
            o.retain(|_, v| !prune(v));
            o.is_empty()
        }
        _ => false,
    }
}

/// The non-empty content fields of a message (snake_case, as the protobuf names them), e.g.
/// `{"location_message": {"degrees_latitude": …, "name": …}}`.
pub(crate) fn extra_of(base: &wa::Message) -> Option<Value> {
    let mut value = serde_json::to_value(base).ok()?;
    if let Some(o) = value.as_object_mut() {
        o.retain(|k, _| !ENVELOPE.contains(&k.as_str()));
    }
    (!prune(&mut value)).then_some(value)
}

/// The content kind of a message: `text`, the media kind, or the first content field without its
/// `_message` / `_message_vN` suffix (`location`, `contacts_array`, `poll_creation`, `reaction`, `list`,
/// `event`, …). `fallback` (the stanza type) when nothing is set.
pub(crate) fn kind_of(extra: Option<&Value>, fallback: &str) -> String {
    let Some(key) = extra
        .and_then(Value::as_object)
        .and_then(|o| o.keys().next())
    else {
        return if fallback.is_empty() {
            "unknown".into()
        } else {
            fallback.to_string()
        };
    };
    let stem = match key.rfind("_message") {
        Some(i) if i > 0 => &key[..i],
        _ => key.as_str(),
    };
    stem.to_string()
}
