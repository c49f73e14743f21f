//! App-state patches written by the server side of the account (what a real phone writes): the account's
//! push name as a `setting_pushName` mutation in `critical_block` version 1, encrypted and MAC'd with the
//! account's app-state sync key, which the phone shares with every companion.
//!
//! Without it whatsapp-rust never learns a push name for a companion registered without one, and waits the
//! 10 s key-share grace on every later login.

use rand::Rng as _;
use wacore::appstate::expand_app_state_keys;
use wacore::appstate::hash::{HashState, generate_patch_mac};
use waproto::buffa::{Message as _, MessageField};
use waproto::whatsapp as wa;

use super::util;
use crate::state::SyncKey;

pub(crate) const PUSH_NAME_COLLECTION: &str = "critical_block";

/// An encoded `SyncdPatch` (version 1) setting the account's push name.
pub(crate) fn push_name_patch(key: &SyncKey, push_name: &str) -> Vec<u8> {
    let keys = expand_app_state_keys(&key.data);
    let index = b"[\"setting_pushName\"]";
    let value = wa::SyncActionValue {
        timestamp: Some(util::now_ms()),
        push_name_setting: MessageField::some(wa::sync_action_value::PushNameSetting {
            name: Some(push_name.to_string()),
        }),
        ..Default::default()
    };
    let mut iv = [0u8; 16];
    rand::rng().fill_bytes(&mut iv);
    let (mutation, _value_mac) = wacore::appstate::encode_record(
        wa::syncd_mutation::SyncdOperation::SET,
        index,
        &value,
        &keys,
        &key.id,
        &iv,
        1,
    );
    let mut state = HashState::default();
    let (_, applied) = state.update_hash(std::slice::from_ref(&mutation), |_, _| Ok(None));
    if let Err(e) = applied {
        tracing::warn!("push-name patch hash: {e}");
    }
    state.version = 1;
    let mut patch = wa::SyncdPatch {
        version: MessageField::some(wa::SyncdVersion { version: Some(1) }),
        mutations: vec![mutation],
        snapshot_mac: Some(state.generate_snapshot_mac(PUSH_NAME_COLLECTION, &keys.snapshot_mac)),
        key_id: MessageField::some(wa::KeyId {
            id: Some(key.id.clone()),
        }),
        device_index: Some(0),
        ..Default::default()
    };
    patch.patch_mac = Some(generate_patch_mac(
        &patch,
        PUSH_NAME_COLLECTION,
        &keys.patch_mac,
        1,
    ));
    patch.encode_to_vec()
}
