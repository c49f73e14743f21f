//! Events that come from client signals rather than messages: `presence.update` (presence and
//! chat states), `chat.archive` (app-state archive changes from any device of the account) and
//! `engine.event` (every client event raw, for webhooks that name it).

use serde_json::{Value, json};
use wawp_engine::{PresenceUpdate, RawEvent};

use crate::events::Events;
use crate::events::webhook::RAW_EVENT;
use crate::model::InstanceId;

/// `presence.update`: `{chatId, type, from}` as documented, plus `lastSeen` (Unix seconds) when an
/// `unavailable` contact shares it.
pub(crate) fn presence_payload(p: &PresenceUpdate) -> Value {
    let mut payload = json!({"chatId": p.chat, "type": p.kind, "from": p.from});
    if let Some(t) = p.last_seen {
        payload["lastSeen"] = json!(t);
    }
    payload
}

/// `chat.archive`: `{chatId, archived}` as documented, plus when (Unix seconds).
pub(crate) fn archive_payload(chat: &str, archived: bool, timestamp: i64) -> Value {
    json!({"chatId": chat, "archived": archived, "timestamp": timestamp})
}

/// `engine.event`: `{raw: {event, data}}` as documented; `None` for events that cannot be shown.
pub(crate) fn raw_payload(raw: &RawEvent) -> Option<Value> {
    Some(json!({"raw": {"event": raw.name(), "data": raw.data()?}}))
}

pub(crate) async fn presence(events: &Events, id: &InstanceId, p: &PresenceUpdate) {
    emit(
        events,
        id,
        "presence.update",
        presence_payload(p),
        Some(&p.chat),
    )
    .await;
}

pub(crate) async fn archived(
    events: &Events,
    id: &InstanceId,
    chat: &str,
    archived: bool,
    timestamp: i64,
) {
    let payload = archive_payload(chat, archived, timestamp);
    emit(events, id, "chat.archive", payload, Some(chat)).await;
}

/// Serializes the event only when a webhook of the instance asked for `engine.event`.
pub(crate) async fn raw(events: &Events, id: &InstanceId, raw: &RawEvent) {
    if !events.subscribed(id.as_str(), RAW_EVENT).await {
        return;
    }
    if let Some(payload) = raw_payload(raw) {
        emit(events, id, RAW_EVENT, payload, None).await;
    }
}

async fn emit(events: &Events, id: &InstanceId, name: &str, payload: Value, chat: Option<&str>) {
    if let Err(e) = events.emit(id.as_str(), name, payload, chat).await {
        tracing::error!(instance = %id, event = name, error = %e, "cannot record an event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_the_documented_fields() {
        let p = PresenceUpdate {
            chat: "1@c.us".into(),
            from: "1@c.us".into(),
            kind: "composing".into(),
            last_seen: None,
        };
        assert_eq!(
            presence_payload(&p),
            json!({"chatId": "1@c.us", "type": "composing", "from": "1@c.us"})
        );
        assert_eq!(
            archive_payload("2@c.us", true, 5),
            json!({"chatId": "2@c.us", "archived": true, "timestamp": 5})
        );
    }
}
