//! Calls a virtual phone places, and what happened to them.
//!
//! whatsapp-rust places calls only with its `voip-runtime` feature (webrtc-rs, a relay and a media
//! plane), which fakewa does not build. The phone therefore sends the `<offer>` stanza itself, built
//! by wacore's own `build_offer` in WhatsApp's child order, with no encrypted call key (fakewa has no
//! media relay, and a callee needs the key only to connect media). The callee's answers arrive as the
//! client's `Event::IncomingCall` and update the call's status.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use wacore::stanza::call::{CAPABILITY_OFFER, DEFAULT_AUDIO_RATES, OfferParams, build_offer};
use wacore::types::call::{CallAction, IncomingCall};
use whatsapp_rust::Client;

use crate::FakeWaError;
use crate::stanza::util;

/// Where a placed call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    /// Ringing: no device of the callee answered yet.
    Offered,
    Accepted,
    Rejected,
    /// Ended by either side (after an answer, or instead of one).
    Terminated,
}

/// A call a virtual phone placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneCall {
    pub call_id: String,
    /// The callee as given.
    pub to: String,
    pub video: bool,
    pub status: CallStatus,
}

/// The phone's calls, shared with its event handler.
#[derive(Clone, Default)]
pub(crate) struct CallLog(Arc<Mutex<Vec<PhoneCall>>>);

impl CallLog {
    pub fn list(&self) -> Vec<PhoneCall> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn push(&self, call: PhoneCall) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(call);
    }

    /// Applies the callee's answer to one of our calls (other calls are not ours to follow).
    pub fn observe(&self, call: &IncomingCall) {
        let status = match &call.action {
            CallAction::Accept { .. } => CallStatus::Accepted,
            // `busy`: that device cannot take the call; the others keep ringing.
            CallAction::Reject { reason, .. } if reason.as_deref() != Some("busy") => {
                CallStatus::Rejected
            }
            CallAction::Terminate { .. } => CallStatus::Terminated,
            _ => return,
        };
        let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = calls
            .iter_mut()
            .find(|c| c.call_id == call.action.call_id())
        {
            // A ringing call takes any answer; an accepted one can only end; the rest are final.
            let moves = match c.status {
                CallStatus::Offered => true,
                CallStatus::Accepted => status == CallStatus::Terminated,
                CallStatus::Rejected | CallStatus::Terminated => false,
            };
            if moves {
                c.status = status;
            }
        }
    }
}

/// Sends an `<offer>` to `to` (a JID or a phone number) and records the call; returns its id.
pub(crate) async fn place(
    client: &Client,
    log: &CallLog,
    to: &str,
    video: bool,
) -> Result<String, FakeWaError> {
    let peer = super::recipient(to)?;
    let creator = client
        .pn()
        .ok_or_else(|| FakeWaError::Phone("the phone is not logged in".into()))?;
    let call_id = util::random_hex(16);
    let stanza_id = util::random_hex(8);
    let offer = build_offer(&OfferParams {
        call_id: &call_id,
        to: &peer,
        call_creator: &creator,
        device_keys: &[],
        privacy_token: None,
        capability: Some(&CAPABILITY_OFFER),
        device_identity: None,
        id: Some(&stanza_id),
        multi_device: false,
        video,
        audio_rates: DEFAULT_AUDIO_RATES,
    });
    client
        .send_node(offer)
        .await
        .map_err(|e| FakeWaError::Phone(e.to_string()))?;
    log.push(PhoneCall {
        call_id: call_id.clone(),
        to: to.to_string(),
        video,
        status: CallStatus::Offered,
    });
    Ok(call_id)
}
