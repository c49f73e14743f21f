//! A session's key store with whatsapp-rust's pending-inbound buffer kept in memory, its
//! trusted-contact tokens cached (see `tc_token_cache.rs`) and its message-secret writes
//! coalesced (see "Message secrets" below).
//!
//! # Why
//!
//! With an inbound durability hook, whatsapp-rust commits every live inbound message as
//! `store_pending_inbound_batch(rows)` → hook → `delete_pending_inbound_batch(keys)` → ack. On
//! the plain [`SqliteStore`](whatsapp_rust::store::SqliteStore) those are two SQLite write
//! transactions per message, serialized on the session's single key-store connection and shared
//! by every chat of the session, each a hand-off to a blocking thread. [`BufferedInbound`] keeps
//! the pending rows in memory instead, and writes them to the inner store only when they are
//! needed on disk. Measured on 2 cores (benches/README.md, session 4): inbound at 1,500 msg/s
//! offered went from 1,417 delivered/s (p99 579 ms) to all 1,500 (p99 55 ms), and p99 at
//! 1,000 msg/s from 39 to 20 ms.
//!
//! # Why that keeps whatsapp-rust's guarantee
//!
//! whatsapp-rust needs the pending row so that a message whose Signal ratchet step was saved is
//! never lost: once the ratchet step is on disk, a redelivered copy of the message no longer
//! decrypts, and only the buffered row can replay it to the hook. The invariant is therefore
//! "a persisted ratchet step implies a durable pending row or a committed hook" — the row only
//! has to be on disk *before the Signal state that consumed the message is*.
//!
//! So before any write that persists Signal state (or device state) is forwarded to the inner
//! store, every row still in memory is first written there in one
//! `store_pending_inbound_batch` (the *write-through*), and remembered as being on disk. Rows
//! whose hook commits before that — the usual case: the hook commits within milliseconds, the
//! background Signal flush runs every 25 ms — never touch the disk: their delete only drops them
//! from memory. A delete of a row that was written through (or that was read back from disk on a
//! replay) is forwarded to the inner store.
//!
//! # Crash semantics
//!
//! Rows that are only in memory are lost on a crash. That is safe: a row is only in memory while
//! no Signal write has reached the store since it was buffered, so the ratchet state on disk
//! predates the message. WhatsApp never got an ack for it (acks follow the hook commit), so the
//! server redelivers it after the restart, it decrypts again from the older persisted state, and
//! it goes through the hook as a fresh message.
//!
//! # Message secrets
//!
//! whatsapp-rust keeps the secret of every message it receives or sends (to decrypt the votes,
//! reactions and edits that may refer to it later) in a write-behind buffer: the secret is
//! readable from the buffer at once, and a drain task writes what the buffer holds with one
//! `put_msg_secrets` call and drops it from the buffer only once written. That drain starts as
//! soon as a secret arrives, so under a steady stream each batch holds one or two secrets: a
//! key-store transaction per message, a tenth of wawp's CPU at 1,500 inbound messages/s. Here a
//! small batch waits [`MSG_SECRET_LINGER`] before it is written: the secrets captured meanwhile
//! stay readable in whatsapp-rust's buffer and go in the next batch, so one transaction carries
//! every secret of that window. whatsapp-rust also writes the secrets of a history-sync chunk with
//! one direct call, before it emits the chunk's event: a chunk of 64 or more is written at once,
//! a smaller one waits the same 20 ms. Measured on 2 cores (benches/README.md, session 6): the key
//! store's WAL writes per inbound message fell from 8.5 to 5, and wawp's CPU by about 5 %.
//!
//! The cost is a wider crash window for those secrets: whatsapp-rust acknowledges a message
//! before its secret is written (as WhatsApp Web does), and a crash now loses at most the
//! linger's worth more. The secrets wawp itself needs (those of its polls and events, for
//! `poll.vote` and `event.response`) are kept in wawp's store with the message, committed before
//! the acknowledgement. A clean shutdown writes everything: whatsapp-rust's disconnect flushes
//! the buffer and waits for the write.
//!
//! Reads ([`get_pending_inbound`](ProtocolStore::get_pending_inbound), the replay path of a
//! redelivered message) look in memory first and then in the inner store; there is no
//! list-all read in the trait. Every other method delegates to the inner store, including every
//! method the traits give a default body, so the inner store's batch paths are kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::tc_token_cache::TcTokenCache;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use wacore::appstate::hash::HashState;
use wacore::appstate::processor::AppStateMutationMAC;
use wacore::reporting_token::MESSAGE_SECRET_SIZE;
use wacore::stats::StorageResourceReport;
use wacore::store::Device;
use wacore::store::error::Result;
use wacore::store::traits::{
    AppStateSyncKey, AppSyncStore, Backend, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    MsgSecretEntry, MsgSecretStore, PendingInboundKey, PendingInboundRow, ProtocolStore,
    SignalStore, TcTokenEntry,
};

/// How long a small batch of message secrets waits before it is written, so that the secrets
/// captured meanwhile share its transaction (module documentation, "Message secrets").
const MSG_SECRET_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// From this many secrets a batch is written at once: it already shares its transaction (a
/// history sync, or a burst that outran the drain).
const MSG_SECRET_BATCH: usize = 64;

/// `(chat, sender, id)`, the key the trait scopes a pending row by.
type Key = (String, String, String);

fn key(chat: &str, sender: &str, id: &str) -> Key {
    (chat.to_owned(), sender.to_owned(), id.to_owned())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A row not (yet) written to the inner store.
struct MemoryRow {
    message: Vec<u8>,
    /// Unix seconds when buffered, for the retention sweep.
    inserted_at: i64,
    /// Distinguishes a row re-stored while a write-through of its older copy was in flight.
    seq: u64,
}

#[derive(Default)]
struct Pending {
    /// Rows held only in memory.
    memory: HashMap<Key, MemoryRow>,
    /// Keys that have (or may have) a row in the inner store: written through, or read back from
    /// it. Value: unix seconds when learnt, for the retention sweep.
    on_disk: HashMap<Key, i64>,
    next_seq: u64,
}

/// A [`Backend`] that keeps the pending-inbound buffer in memory and writes it through to the
/// inner store only before Signal state is persisted. See the module documentation.
pub(crate) struct BufferedInbound<B> {
    inner: B,
    pending: Mutex<Pending>,
    /// Serializes write-throughs: a Signal write must not overtake rows another write-through is
    /// still writing.
    write_through: tokio::sync::Mutex<()>,
    tc_tokens: TcTokenCache,
}

impl<B: Backend> BufferedInbound<B> {
    pub(crate) fn new(inner: B) -> Self {
        BufferedInbound {
            inner,
            pending: Mutex::new(Pending::default()),
            write_through: tokio::sync::Mutex::new(()),
            tc_tokens: TcTokenCache::default(),
        }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a write of `jid`'s tc token, then drops the token from the cache (written or not).
    async fn changing_tc_token<T>(
        &self,
        jid: &str,
        write: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let result = write.await;
        self.tc_tokens.forget(jid);
        result
    }

    /// Writes every row still in memory to the inner store. Called before any write that
    /// persists Signal or device state; returns once those rows are durable (or with the inner
    /// store's error, in which case the caller must not persist its state either).
    async fn write_through(&self) -> Result<()> {
        if self.pending().memory.is_empty() {
            // Nothing buffered. A write-through still in flight keeps its rows in memory until
            // they are durable, so an empty map also means no such write is pending (or its rows
            // were all committed by their hook meanwhile and are no longer needed).
            return Ok(());
        }
        let _gate = self.write_through.lock().await;
        let snapshot: Vec<(Key, Vec<u8>, u64)> = {
            let pending = self.pending();
            pending
                .memory
                .iter()
                .map(|(k, row)| (k.clone(), row.message.clone(), row.seq))
                .collect()
        };
        if snapshot.is_empty() {
            return Ok(());
        }
        let rows: Vec<PendingInboundRow<'_>> = snapshot
            .iter()
            .map(|((chat, sender, id), message, _)| PendingInboundRow {
                chat,
                sender,
                id,
                message,
            })
            .collect();
        self.inner.store_pending_inbound_batch(&rows).await?;
        // Rows deleted (hook committed) while they were being written: their delete found them
        // not yet on disk and forwarded nothing, so remove their fresh copies here.
        let mut stale: Vec<&Key> = Vec::new();
        {
            let mut pending = self.pending();
            let now = now_secs();
            for (k, _, seq) in &snapshot {
                match pending.memory.get(k) {
                    Some(row) if row.seq == *seq => {
                        pending.memory.remove(k);
                        pending.on_disk.insert(k.clone(), now);
                    }
                    // Re-stored meanwhile: the newer copy stays in memory for the next
                    // write-through, but a delete must now also reach the inner store.
                    Some(_) => {
                        pending.on_disk.insert(k.clone(), now);
                    }
                    None => stale.push(k),
                }
            }
        }
        if !stale.is_empty() {
            let keys: Vec<PendingInboundKey<'_>> = stale
                .iter()
                .map(|(chat, sender, id)| PendingInboundKey { chat, sender, id })
                .collect();
            if let Err(e) = self.inner.delete_pending_inbound_batch(&keys).await {
                // A leftover row only replays as a duplicate to the idempotent hook, and the
                // retention sweep removes it eventually.
                tracing::debug!("cannot clear {} committed pending rows: {e}", keys.len());
            }
        }
        Ok(())
    }

    fn buffer(&self, rows: &[PendingInboundRow<'_>]) {
        let mut pending = self.pending();
        let now = now_secs();
        for row in rows {
            let seq = pending.next_seq;
            pending.next_seq = seq.wrapping_add(1);
            pending.memory.insert(
                key(row.chat, row.sender, row.id),
                MemoryRow {
                    message: row.message.to_vec(),
                    inserted_at: now,
                    seq,
                },
            );
        }
    }

    /// Drops `keys` from memory; returns those that must also be deleted from the inner store.
    fn forget(&self, keys: &[PendingInboundKey<'_>]) -> Vec<Key> {
        let mut pending = self.pending();
        let mut forward = Vec::new();
        for k in keys {
            let k = key(k.chat, k.sender, k.id);
            pending.memory.remove(&k);
            if pending.on_disk.remove(&k).is_some() {
                forward.push(k);
            }
        }
        forward
    }
}

#[async_trait]
impl<B: Backend> SignalStore for BufferedInbound<B> {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.write_through().await?;
        self.inner.put_identity(address, key).await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        self.write_through().await?;
        self.inner.put_identities_batch(identities).await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        self.inner.load_identity(address).await
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.write_through().await?;
        self.inner.delete_identity(address).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        self.inner.get_session(address).await
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.write_through().await?;
        self.inner.put_session(address, session).await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        self.write_through().await?;
        self.inner.put_sessions_batch(sessions).await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.write_through().await?;
        self.inner.delete_session(address).await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        self.inner.has_session(address).await
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        self.inner.has_signal_state_for_user(user).await
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.write_through().await?;
        self.inner.store_prekey(id, record, uploaded).await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        self.write_through().await?;
        self.inner.store_prekeys_batch(keys, uploaded).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        self.inner.load_prekey(id).await
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        self.inner.load_prekeys_batch(ids).await
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        self.write_through().await?;
        self.inner.mark_prekeys_uploaded(ids).await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.write_through().await?;
        self.inner.remove_prekey(id).await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        self.inner.get_max_prekey_id().await
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.write_through().await?;
        self.inner.store_signed_prekey(id, record).await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        self.inner.load_signed_prekey(id).await
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        self.inner.load_all_signed_prekeys().await
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.write_through().await?;
        self.inner.remove_signed_prekey(id).await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.write_through().await?;
        self.inner.put_sender_key(address, record).await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        self.write_through().await?;
        self.inner.put_sender_keys_batch(sender_keys).await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get_sender_key(address).await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.write_through().await?;
        self.inner.delete_sender_key(address).await
    }
}

#[async_trait]
impl<B: Backend> AppSyncStore for BufferedInbound<B> {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        self.inner.get_sync_key(key_id).await
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        self.inner.set_sync_key(key_id, key).await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        self.inner.get_version(name).await
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.inner.set_version(name, state).await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        self.inner.put_mutation_macs(name, version, mutations).await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get_mutation_mac(name, index_mac).await
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        self.inner.get_mutation_macs(name, index_macs).await
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        self.inner.delete_mutation_macs(name, index_macs).await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        self.inner.clear_mutation_macs(name).await
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        self.inner.get_latest_sync_key_id().await
    }
}

#[async_trait]
impl<B: Backend> ProtocolStore for BufferedInbound<B> {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        self.inner.get_sender_key_devices(group_jid).await
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        self.inner.set_sender_key_status(group_jid, entries).await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        self.inner.clear_sender_key_devices(group_jid).await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        self.inner.delete_sender_key_device_rows(device_jids).await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.inner.clear_all_sender_key_devices().await
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.inner.get_lid_mapping(lid).await
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        self.inner.get_pn_mapping(phone).await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.inner.put_lid_mapping(entry).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        self.inner.put_lid_mappings(entries).await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        self.inner.get_all_lid_mappings().await
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        self.inner
            .save_base_key(address, message_id, base_key)
            .await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        self.inner
            .has_same_base_key(address, message_id, current_base_key)
            .await
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        self.inner.delete_base_key(address, message_id).await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.inner.update_device_list(record).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        self.inner.update_device_lists(records).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        self.inner.get_devices(user).await
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.inner.delete_devices(user).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get_group_metadata(group_jid).await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.inner.put_group_metadata(group_jid, blob).await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.inner.delete_group_metadata(group_jid).await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        if let Some(cached) = self.tc_tokens.get(jid) {
            return Ok(cached);
        }
        let generation = self.tc_tokens.generation();
        let value = self.inner.get_tc_token(jid).await?;
        self.tc_tokens.fill(jid, value.clone(), generation);
        Ok(value)
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.changing_tc_token(jid, self.inner.put_tc_token(jid, entry))
            .await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.changing_tc_token(jid, self.inner.delete_tc_token(jid))
            .await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        self.inner.get_all_tc_token_jids().await
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        let result = self
            .inner
            .delete_expired_tc_tokens(token_cutoff, sender_cutoff)
            .await;
        self.tc_tokens.clear();
        result
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        let write = self
            .inner
            .touch_tc_token_sender_timestamp(jid, sender_timestamp);
        self.changing_tc_token(jid, write).await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        let write = self
            .inner
            .store_received_tc_token(jid, token, token_timestamp);
        self.changing_tc_token(jid, write).await
    }

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        self.inner
            .store_sent_message(chat_jid, message_id, payload)
            .await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        self.inner.take_sent_message(chat_jid, message_id).await
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.inner
            .delete_expired_sent_messages(cutoff_timestamp)
            .await
    }

    // --- Pending inbound buffer: in memory, see the module documentation ---

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.buffer(&[PendingInboundRow {
            chat,
            sender,
            id,
            message,
        }]);
        Ok(())
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let k = key(chat, sender, id);
        if let Some(row) = self.pending().memory.get(&k) {
            return Ok(Some(row.message.clone()));
        }
        let found = self.inner.get_pending_inbound(chat, sender, id).await?;
        if found.is_some() {
            // Buffered by an earlier run (or written through): its delete must reach the disk.
            self.pending().on_disk.insert(k, now_secs());
        }
        Ok(found)
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete_pending_inbound_batch(&[PendingInboundKey { chat, sender, id }])
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        let dropped = {
            let mut pending = self.pending();
            let before = pending.memory.len();
            pending
                .memory
                .retain(|_, row| row.inserted_at >= cutoff_timestamp);
            pending.on_disk.retain(|_, at| *at >= cutoff_timestamp);
            before - pending.memory.len()
        };
        let deleted = self
            .inner
            .delete_expired_pending_inbound(cutoff_timestamp)
            .await?;
        Ok(deleted.saturating_add(u32::try_from(dropped).unwrap_or(u32::MAX)))
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        self.buffer(rows);
        Ok(())
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let forward = self.forget(keys);
        if forward.is_empty() {
            return Ok(());
        }
        let keys: Vec<PendingInboundKey<'_>> = forward
            .iter()
            .map(|(chat, sender, id)| PendingInboundKey { chat, sender, id })
            .collect();
        self.inner.delete_pending_inbound_batch(&keys).await
    }
}

#[async_trait]
impl<B: Backend> MsgSecretStore for BufferedInbound<B> {
    async fn put_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
        secret: &[u8; MESSAGE_SECRET_SIZE],
    ) -> Result<()> {
        self.inner
            .put_msg_secret(chat, sender, msg_id, secret)
            .await
    }

    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        if entries.len() < MSG_SECRET_BATCH {
            tokio::time::sleep(MSG_SECRET_LINGER).await;
        }
        self.inner.put_msg_secrets(entries).await
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        self.inner.get_msg_secret(chat, sender, msg_id).await
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        self.inner
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.inner
            .delete_expired_msg_secrets(cutoff_timestamp)
            .await
    }
}

#[async_trait]
impl<B: Backend> DeviceStore for BufferedInbound<B> {
    async fn save(&self, device: &Device) -> Result<()> {
        // Device state (prekey counters, identity) is not tied to the buffered rows, but it is
        // rarely written and keeping it behind the rows costs nothing when none are buffered.
        self.write_through().await?;
        self.inner.save(device).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        self.inner.load().await
    }

    async fn exists(&self) -> Result<bool> {
        self.inner.exists().await
    }

    async fn create(&self) -> Result<i32> {
        self.inner.create().await
    }

    async fn snapshot_db(&self, name: &str, extra_content: Option<&[u8]>) -> Result<()> {
        self.inner.snapshot_db(name, extra_content).await
    }

    async fn resource_report(&self) -> StorageResourceReport {
        self.inner.resource_report().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "100@s.whatsapp.net";
    const SENDER: &str = "100@s.whatsapp.net";

    async fn store(dir: &tempfile::TempDir) -> BufferedInbound<whatsapp_rust::store::SqliteStore> {
        let path = crate::keystore::path(dir.path(), "k");
        let inner = crate::keystore::open(&path).await.expect("open key store");
        BufferedInbound::new(inner)
    }

    fn row<'a>(id: &'a str, message: &'a [u8]) -> PendingInboundRow<'a> {
        PendingInboundRow {
            chat: CHAT,
            sender: SENDER,
            id,
            message,
        }
    }

    fn k(id: &str) -> PendingInboundKey<'_> {
        PendingInboundKey {
            chat: CHAT,
            sender: SENDER,
            id,
        }
    }

    fn secret(id: &str, byte: u8) -> MsgSecretEntry {
        MsgSecretEntry {
            chat: CHAT.into(),
            sender: SENDER.into(),
            msg_id: id.into(),
            secret: [byte; MESSAGE_SECRET_SIZE],
            expires_at: 0,
            message_ts: 0,
        }
    }

    #[tokio::test]
    async fn message_secrets_are_stored_when_their_batch_returns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = std::sync::Arc::new(store(&dir).await);
        // Small batches linger, concurrently, and each is stored by the time it returns.
        let small: Vec<_> = (0..3u8)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    let id = format!("small-{i}");
                    s.put_msg_secrets(vec![secret(&id, i)]).await.expect("put");
                    s.get_msg_secret(CHAT, SENDER, &id).await.expect("get")
                })
            })
            .collect();
        for (i, task) in small.into_iter().enumerate() {
            let stored = task.await.expect("task");
            assert_eq!(stored, Some(vec![i as u8; MESSAGE_SECRET_SIZE]));
        }
        // A batch as large as a history sync's is written at once, every entry of it.
        let big: Vec<_> = (0..MSG_SECRET_BATCH)
            .map(|i| secret(&format!("big-{i}"), 7))
            .collect();
        s.put_msg_secrets(big).await.expect("put");
        for i in [0, MSG_SECRET_BATCH - 1] {
            let stored = s
                .get_msg_secret(CHAT, SENDER, &format!("big-{i}"))
                .await
                .expect("get");
            assert_eq!(stored, Some(vec![7; MESSAGE_SECRET_SIZE]));
        }
    }

    async fn token(
        s: &BufferedInbound<whatsapp_rust::store::SqliteStore>,
        jid: &str,
    ) -> Option<TcTokenEntry> {
        s.get_tc_token(jid).await.expect("get")
    }

    #[tokio::test]
    async fn tc_tokens_read_through_the_cache_see_every_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(&dir).await;
        let jid = "200@lid";
        assert!(
            token(&s, jid).await.is_none(),
            "none yet (and cached as none)"
        );
        s.store_received_tc_token(jid, b"t1", 1_000)
            .await
            .expect("received");
        let got = token(&s, jid).await.expect("after receiving");
        assert_eq!(
            (got.token.as_slice(), got.token_timestamp),
            (&b"t1"[..], 1_000)
        );
        s.touch_tc_token_sender_timestamp(jid, 1_500)
            .await
            .expect("touch");
        assert_eq!(
            token(&s, jid).await.expect("touched").sender_timestamp,
            Some(1_500)
        );
        let entry = TcTokenEntry {
            token: b"t2".to_vec(),
            token_timestamp: 2_000,
            sender_timestamp: None,
        };
        s.put_tc_token(jid, &entry).await.expect("put");
        assert_eq!(token(&s, jid).await.expect("put").token, b"t2".to_vec());
        s.delete_expired_tc_tokens(3_000, 3_000)
            .await
            .expect("expire");
        assert!(token(&s, jid).await.is_none(), "expired");
        s.put_tc_token(jid, &entry).await.expect("put again");
        assert!(token(&s, jid).await.is_some());
        s.delete_tc_token(jid).await.expect("delete");
        assert!(token(&s, jid).await.is_none(), "deleted");
        // What the cache answered is what the store holds.
        assert!(s.inner.get_tc_token(jid).await.expect("inner").is_none());
    }

    #[tokio::test]
    async fn rows_stay_in_memory_until_signal_state_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(&dir).await;
        s.store_pending_inbound_batch(&[row("A", b"a"), row("B", b"b")])
            .await
            .expect("store");
        assert_eq!(
            s.get_pending_inbound(CHAT, SENDER, "A").await.expect("get"),
            Some(b"a".to_vec())
        );
        // Not on disk.
        assert_eq!(
            s.inner
                .get_pending_inbound(CHAT, SENDER, "A")
                .await
                .expect("inner get"),
            None
        );
        s.delete_pending_inbound_batch(&[k("A")])
            .await
            .expect("delete");
        assert_eq!(
            s.get_pending_inbound(CHAT, SENDER, "A").await.expect("get"),
            None
        );
        assert!(s.pending().on_disk.is_empty());
        assert_eq!(s.pending().memory.len(), 1);
    }

    #[tokio::test]
    async fn signal_write_writes_rows_through_and_delete_forwards() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(&dir).await;
        s.store_pending_inbound_batch(&[row("A", b"a"), row("B", b"b")])
            .await
            .expect("store");
        s.put_sessions_batch(&[(Arc::from("x.0"), Bytes::from_static(b"session"))])
            .await
            .expect("put sessions");
        assert!(s.pending().memory.is_empty());
        for (id, m) in [("A", b"a"), ("B", b"b")] {
            assert_eq!(
                s.inner
                    .get_pending_inbound(CHAT, SENDER, id)
                    .await
                    .expect("inner get"),
                Some(m.to_vec())
            );
            assert_eq!(
                s.get_pending_inbound(CHAT, SENDER, id).await.expect("get"),
                Some(m.to_vec())
            );
        }
        assert_eq!(
            s.get_session("x.0").await.expect("get session").as_deref(),
            Some(&b"session"[..])
        );
        s.delete_pending_inbound_batch(&[k("A")])
            .await
            .expect("delete");
        assert_eq!(
            s.inner
                .get_pending_inbound(CHAT, SENDER, "A")
                .await
                .expect("inner get"),
            None
        );
        s.delete_pending_inbound(CHAT, SENDER, "B")
            .await
            .expect("delete");
        assert_eq!(
            s.get_pending_inbound(CHAT, SENDER, "B").await.expect("get"),
            None
        );
        assert!(s.pending().on_disk.is_empty());
    }

    #[tokio::test]
    async fn get_merges_memory_and_rows_of_an_earlier_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(&dir).await;
        // A row buffered on disk by an earlier run.
        s.inner
            .store_pending_inbound_batch(&[row("OLD", b"old")])
            .await
            .expect("inner store");
        s.store_pending_inbound(CHAT, SENDER, "NEW", b"new")
            .await
            .expect("store");
        assert_eq!(
            s.get_pending_inbound(CHAT, SENDER, "OLD")
                .await
                .expect("get"),
            Some(b"old".to_vec())
        );
        assert_eq!(
            s.get_pending_inbound(CHAT, SENDER, "NEW")
                .await
                .expect("get"),
            Some(b"new".to_vec())
        );
        // The replay re-stores the row in memory, commits, deletes: the disk copy goes too.
        s.store_pending_inbound(CHAT, SENDER, "OLD", b"old")
            .await
            .expect("store");
        s.delete_pending_inbound_batch(&[k("OLD"), k("NEW")])
            .await
            .expect("delete");
        assert_eq!(
            s.inner
                .get_pending_inbound(CHAT, SENDER, "OLD")
                .await
                .expect("inner get"),
            None
        );
        assert!(s.pending().memory.is_empty());
        assert!(s.pending().on_disk.is_empty());
    }

    #[tokio::test]
    async fn other_signal_writes_write_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(&dir).await;
        s.store_pending_inbound(CHAT, SENDER, "A", b"a")
            .await
            .expect("store");
        s.put_identity("x.0", [7; 32]).await.expect("identity");
        assert!(s.pending().memory.is_empty());
        s.store_pending_inbound(CHAT, SENDER, "B", b"b")
            .await
            .expect("store");
        s.remove_prekey(1).await.expect("prekey");
        assert!(s.pending().memory.is_empty());
        s.store_pending_inbound(CHAT, SENDER, "C", b"c")
            .await
            .expect("store");
        s.put_sender_keys_batch(&[(Arc::from("g"), Bytes::from_static(b"sk"))])
            .await
            .expect("sender keys");
        assert!(s.pending().memory.is_empty());
        for id in ["A", "B", "C"] {
            assert!(
                s.inner
                    .get_pending_inbound(CHAT, SENDER, id)
                    .await
                    .expect("inner get")
                    .is_some()
            );
        }
        // A non-Signal write leaves new rows in memory.
        s.store_pending_inbound(CHAT, SENDER, "D", b"d")
            .await
            .expect("store");
        s.store_sent_message(CHAT, "S", b"p").await.expect("sent");
        assert_eq!(s.pending().memory.len(), 1);
    }

    #[tokio::test]
    async fn expiry_drops_old_memory_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(&dir).await;
        s.store_pending_inbound(CHAT, SENDER, "A", b"a")
            .await
            .expect("store");
        assert_eq!(
            s.delete_expired_pending_inbound(0).await.expect("expire"),
            0
        );
        assert_eq!(
            s.delete_expired_pending_inbound(i64::MAX)
                .await
                .expect("expire"),
            1
        );
        assert_eq!(
            s.get_pending_inbound(CHAT, SENDER, "A").await.expect("get"),
            None
        );
    }

    /// Deletes racing write-throughs leave nothing behind, in memory or on disk.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn deletes_racing_write_throughs_leave_no_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Arc::new(store(&dir).await);
        let flusher = {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                for _ in 0..50 {
                    s.put_sessions_batch(&[(Arc::from("x.0"), Bytes::from_static(b"s"))])
                        .await
                        .expect("put sessions");
                    tokio::task::yield_now().await;
                }
            })
        };
        let mut lanes = Vec::new();
        for lane in 0..8 {
            let s = Arc::clone(&s);
            lanes.push(tokio::spawn(async move {
                for n in 0..40 {
                    let id = format!("{lane}-{n}");
                    s.store_pending_inbound(CHAT, SENDER, &id, b"m")
                        .await
                        .expect("store");
                    tokio::task::yield_now().await;
                    assert_eq!(
                        s.get_pending_inbound(CHAT, SENDER, &id).await.expect("get"),
                        Some(b"m".to_vec())
                    );
                    s.delete_pending_inbound(CHAT, SENDER, &id)
                        .await
                        .expect("delete");
                }
            }));
        }
        for lane in lanes {
            lane.await.expect("lane");
        }
        flusher.await.expect("flusher");
        assert!(s.pending().memory.is_empty());
        assert!(s.pending().on_disk.is_empty());
        for lane in 0..8 {
            for n in 0..40 {
                let id = format!("{lane}-{n}");
                assert_eq!(
                    s.inner
                        .get_pending_inbound(CHAT, SENDER, &id)
                        .await
                        .expect("inner get"),
                    None,
                    "{id} left on disk"
                );
            }
        }
    }
}
