//! Calls: incoming `<call>` signaling (whatsapp-rust's `Event::IncomingCall`) turned into
//! [`CallSignal`]s, and the calls ringing on this device, kept so that one can be rejected by id.
//!
//! whatsapp-rust is built without its `voip-runtime` (webrtc-rs media plane), so wawp never answers
//! a call; it sees offers, learns when another device of the account took or declined them, and
//! rejects them (`Voip::reject`, pure signaling).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wacore::stanza::call::{
    TERMINATE_REASON_ACCEPTED_ELSEWHERE, TERMINATE_REASON_REJECTED_ELSEWHERE,
};
use wacore::types::call::{CallAction, IncomingCall};
use whatsapp_rust::prelude::Event;

use crate::EngineError;
use crate::messages::user_id;
use crate::session::EngineSender;

/// What happened to a call that rings (or rang) on this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallSignal {
    /// A call rings: `from` is the caller (`123@c.us`), `timestamp` Unix seconds.
    Offered {
        id: String,
        from: String,
        video: bool,
        timestamp: i64,
    },
    /// Another device of the account accepted (`accepted`) or declined the ringing call.
    Answered {
        id: String,
        from: String,
        accepted: bool,
    },
    /// The caller hung up before any device answered.
    Ended { id: String, from: String },
}

/// The calls ringing on this device, by call id. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Ringing(Arc<Mutex<HashMap<String, IncomingCall>>>);

impl Ringing {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, IncomingCall>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows one client event; the signal it means for a call of ours, if any.
    pub(crate) fn signal(&self, event: &Event) -> Option<CallSignal> {
        let Event::IncomingCall(call) = event else {
            return None;
        };
        let id = call.action.call_id().to_string();
        match &call.action {
            CallAction::Offer {
                is_video,
                group_jid: None,
                ..
            } => {
                let from = caller_of(call);
                self.lock().insert(id.clone(), call.clone());
                Some(CallSignal::Offered {
                    id,
                    from,
                    video: *is_video,
                    timestamp: call.timestamp.timestamp(),
                })
            }
            // From another of our devices (fakewa and WhatsApp relay the answer to the siblings).
            CallAction::Accept { .. } => self.answered(&id, true),
            // `busy`: that device cannot take the call; the others keep ringing.
            CallAction::Reject { reason, .. } if reason.as_deref() != Some("busy") => {
                self.answered(&id, false)
            }
            // A caller that dismisses the other devices says why.
            CallAction::Terminate { reason, .. } => match reason.as_deref() {
                Some(TERMINATE_REASON_ACCEPTED_ELSEWHERE) => self.answered(&id, true),
                Some(TERMINATE_REASON_REJECTED_ELSEWHERE) => self.answered(&id, false),
                _ => {
                    let from = caller_of(&self.lock().remove(&id)?);
                    Some(CallSignal::Ended { id, from })
                }
            },
            _ => None,
        }
    }

    fn answered(&self, id: &str, accepted: bool) -> Option<CallSignal> {
        let call = self.lock().remove(id)?;
        Some(CallSignal::Answered {
            id: id.to_string(),
            from: caller_of(&call),
            accepted,
        })
    }
}

/// The caller as a chat id, by phone number when the offer gives it.
fn caller_of(call: &IncomingCall) -> String {
    let pn = match &call.action {
        CallAction::Offer { caller_pn, .. } => caller_pn.as_ref(),
        _ => None,
    };
    user_id(call.action.call_creator(), pn.or(Some(&call.from)))
}

impl EngineSender {
    /// Rejects the call `id` ringing on this device; `from` (a chat id, as in `Offered`) must be
    /// its caller. Answers the caller's chat id.
    pub async fn reject_call(&self, id: &str, from: &str) -> Result<String, EngineError> {
        let call = {
            let ringing = self.calls.lock();
            ringing
                .get(id)
                .filter(|c| caller_of(c) == from)
                .cloned()
                .ok_or_else(|| EngineError::UnknownCall(id.to_string()))?
        };
        self.client
            .voip()
            .reject(&call)
            .await
            .map_err(|e| EngineError::Upstream(e.to_string()))?;
        self.calls.lock().remove(id);
        Ok(caller_of(&call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wacore_binary::Jid;

    fn event(action: CallAction) -> Event {
        let now = wacore::chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        Event::IncomingCall(IncomingCall::new_for_test(
            Jid::pn("12015550111"),
            "S1".into(),
            now,
            action,
        ))
    }

    fn offer(id: &str) -> Event {
        event(CallAction::Offer {
            call_id: id.into(),
            call_creator: Jid::pn("12015550111"),
            caller_pn: None,
            caller_country_code: None,
            device_class: None,
            joinable: false,
            is_video: true,
            audio: Vec::new(),
            group_jid: None,
        })
    }

    fn creator() -> Jid {
        Jid::pn("12015550111")
    }

    #[test]
    fn an_offer_rings_and_an_answer_elsewhere_ends_it_once() {
        let ringing = Ringing::default();
        assert_eq!(
            ringing.signal(&offer("C1")),
            Some(CallSignal::Offered {
                id: "C1".into(),
                from: "12015550111@c.us".into(),
                video: true,
                timestamp: 1_700_000_000,
            })
        );
        let accept = event(CallAction::Accept {
            call_id: "C1".into(),
            call_creator: creator(),
            audio: Vec::new(),
        });
        assert_eq!(
            ringing.signal(&accept),
            Some(CallSignal::Answered {
                id: "C1".into(),
                from: "12015550111@c.us".into(),
                accepted: true,
            })
        );
        assert_eq!(ringing.signal(&accept), None, "once");
    }

    #[test]
    fn busy_devices_and_unknown_calls_say_nothing() {
        let ringing = Ringing::default();
        ringing.signal(&offer("C2"));
        let reject = |reason: Option<&str>| {
            event(CallAction::Reject {
                call_id: "C2".into(),
                call_creator: creator(),
                reason: reason.map(str::to_string),
            })
        };
        assert_eq!(ringing.signal(&reject(Some("busy"))), None);
        assert!(matches!(
            ringing.signal(&reject(None)),
            Some(CallSignal::Answered {
                accepted: false,
                ..
            })
        ));
        let terminate = |reason: Option<&str>| {
            event(CallAction::Terminate {
                call_id: "C2".into(),
                call_creator: creator(),
                reason: reason.map(str::to_string),
                duration: None,
                audio_duration: None,
            })
        };
        assert_eq!(ringing.signal(&terminate(None)), None, "already answered");
        ringing.signal(&offer("C2"));
        assert!(matches!(
            ringing.signal(&terminate(Some("rejected_elsewhere"))),
            Some(CallSignal::Answered {
                accepted: false,
                ..
            })
        ));
        ringing.signal(&offer("C2"));
        assert!(matches!(
            ringing.signal(&terminate(None)),
            Some(CallSignal::Ended { .. })
        ));
    }
}
