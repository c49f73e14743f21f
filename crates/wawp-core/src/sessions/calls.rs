//! Calls: the `call.received`, `call.accepted` and `call.rejected` events, and rejecting a ringing
//! call (`/v2/calls/reject`). Events of one call share its caller's chat, so they arrive in order.

use serde_json::{Value, json};
use wawp_engine::{CallSignal, EngineError};

use super::SessionManager;
use super::messaging::engine_error;
use crate::error::CoreError;
use crate::events::Events;
use crate::model::InstanceId;

/// The event a call signal is, as `(name, payload, chat)`; `None` for a caller hanging up before
/// an answer (a missed call: no documented event says so).
// Wawp: `call.received` is `{id, from, isVideo}` (plus `timestamp`, Unix seconds);
// `call.accepted` and `call.rejected` are `{id}` ("the only field in the payload").
pub(crate) fn event_of(signal: &CallSignal) -> Option<(&'static str, Value, &str)> {
    Some(match signal {
        CallSignal::Offered {
            id,
            from,
            video,
            timestamp,
        } => (
            "call.received",
            json!({"id": id, "from": from, "isVideo": video, "timestamp": timestamp}),
            from.as_str(),
        ),
        CallSignal::Answered { id, from, accepted } => (
            if *accepted {
                "call.accepted"
            } else {
                "call.rejected"
            },
            json!({ "id": id }),
            from.as_str(),
        ),
        CallSignal::Ended { .. } => return None,
    })
}

pub(crate) async fn on_signal(events: &Events, id: &InstanceId, signal: &CallSignal) {
    if let Some((name, payload, chat)) = event_of(signal) {
        emit(events, id, name, payload, chat).await;
    }
}

async fn emit(events: &Events, id: &InstanceId, name: &str, payload: Value, chat: &str) {
    if let Err(e) = events.emit(id.as_str(), name, payload, Some(chat)).await {
        tracing::error!(instance = %id, event = name, error = %e, "cannot record a call event");
    }
}

impl SessionManager {
    /// Rejects the call `call_id` from `from` (a chat id) that rings on the session, then records
    /// `call.rejected`. `NotFound` when no such call rings (unknown id, another caller, or already
    /// answered or ended).
    pub async fn reject_call(
        &self,
        id: &InstanceId,
        call_id: &str,
        from: &str,
    ) -> Result<(), CoreError> {
        let (sender, _) = self.working_sender(id).await?;
        let caller = sender
            .reject_call(call_id, from)
            .await
            .map_err(|e| match e {
                EngineError::UnknownCall(call) => CoreError::NotFound {
                    kind: "call",
                    id: call,
                },
                other => engine_error(other),
            })?;
        emit(
            &self.events,
            id,
            "call.rejected",
            json!({ "id": call_id }),
            &caller,
        )
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_become_the_documented_events() {
        let offered = CallSignal::Offered {
            id: "C1".into(),
            from: "1@c.us".into(),
            video: false,
            timestamp: 5,
        };
        assert_eq!(
            event_of(&offered),
            Some((
                "call.received",
                json!({"id": "C1", "from": "1@c.us", "isVideo": false, "timestamp": 5}),
                "1@c.us"
            ))
        );
        for (accepted, name) in [(true, "call.accepted"), (false, "call.rejected")] {
            let answered = CallSignal::Answered {
                id: "C1".into(),
                from: "1@c.us".into(),
                accepted,
            };
            assert_eq!(
                event_of(&answered),
                Some((name, json!({"id": "C1"}), "1@c.us"))
            );
        }
        let ended = CallSignal::Ended {
            id: "C1".into(),
            from: "1@c.us".into(),
        };
        assert_eq!(event_of(&ended), None);
    }
}
