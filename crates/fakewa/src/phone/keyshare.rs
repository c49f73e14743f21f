//! The phone pushes the account's app-state sync key to a new companion, so it reaches `Connected` without
//! whatsapp-rust's 10 s key-share grace (VERIFIED-PAIRCODE-KEYSHARE D1/D4/D6).

use std::time::{Duration, Instant};

use wacore_binary::Jid;
use waproto::buffa::MessageField;
use waproto::whatsapp as wa;

use super::Phone;
use crate::Shared;

impl Phone {
    /// Sends the account's app-state sync key to its own devices (a self-DM fan-out) until the new
    /// companion `device` got it. The phone learns about the companion from a `devices` notification; until
    /// it has processed it, its fan-out does not include the companion, so the share is sent again.
    pub async fn share_app_state_key(&self, shared: &Shared, device: u16) {
        let target = (self.number.clone(), device);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && notifications_pending(shared, &self.number) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for attempt in 0..5u32 {
            if shared.token.is_cancelled() {
                return;
            }
            match self
                .client
                .send_message(Jid::pn(self.number.clone()), self.key_share())
                .await
            {
                Ok(_) => tracing::debug!(number = %self.number, attempt, "app-state key shared"),
                Err(e) => tracing::warn!(number = %self.number, "app-state key share failed: {e}"),
            }
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if shared.state().phone_copies.contains(&target) {
                    return;
                }
            }
            // The phone's device list lost the companion (a device-list answer it applied after the
            // notification): tell it again, wait for its ack, and resend.
            {
                let mut st = shared.state();
                let key_index = st
                    .accounts
                    .get(&self.number)
                    .and_then(|a| a.companions.get(&device).copied());
                match key_index {
                    Some(ki) => crate::stanza::devices::notify_change(
                        &mut st,
                        &self.number,
                        device,
                        ki,
                        "add",
                    ),
                    None => return,
                }
            }
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && notifications_pending(shared, &self.number) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tracing::warn!(number = %self.number, device, "the app-state key share did not reach the companion");
    }

    fn key_share(&self) -> wa::Message {
        let key = wa::message::AppStateSyncKey {
            key_id: MessageField::some(wa::message::AppStateSyncKeyId {
                key_id: Some(self.sync_key.id.clone()),
            }),
            key_data: MessageField::some(wa::message::AppStateSyncKeyData {
                key_data: Some(self.sync_key.data.clone()),
                fingerprint: MessageField::some(wa::message::AppStateSyncKeyFingerprint {
                    raw_id: Some(self.raw_id),
                    current_index: Some(0),
                    device_indexes: vec![0],
                }),
                timestamp: Some(self.sync_key.timestamp_ms),
            }),
        };
        wa::Message {
            protocol_message: MessageField::some(wa::message::ProtocolMessage {
                r#type: Some(wa::message::protocol_message::Type::APP_STATE_SYNC_KEY_SHARE),
                app_state_sync_key_share: MessageField::some(wa::message::AppStateSyncKeyShare {
                    keys: vec![key],
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

fn notifications_pending(shared: &Shared, number: &str) -> bool {
    shared
        .mail()
        .has_queued(&(number.to_string(), 0), "notification")
}
