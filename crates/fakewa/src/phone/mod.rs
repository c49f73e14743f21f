//! Virtual phones: each account's device 0 is a real whatsapp-rust client that fakewa runs against itself.
//! It holds the account key (its Signal identity), which signs companions' ADV identities; it encrypts,
//! decrypts, keeps an inbox, can echo texts, and pushes the account's app-state sync key to new companions.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng as _, RngExt as _};
use tokio::sync::watch;
use wacore::libsignal::protocol::KeyPair;
use wacore::proto_helpers::MessageExt as _;
use wacore::store::traits::{AppStateSyncKey, Backend};
use wacore::store::{Device, InMemoryBackend};
use wacore::types::events::Event;
use wacore_binary::Jid;
use waproto::buffa::Message as _;
use waproto::whatsapp as wa;
use wawp_transport::NoDelayTransportFactory;
use whatsapp_rust::Client;
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::store::SqliteStore;

use crate::certs::pub32;
use crate::stanza::{appstate_seed, util};
use crate::state::{Account, DeviceRec, SyncKey};
use crate::{FakeWaError, InboxMessage, PhoneInfo, PhoneMedia, Shared};

pub(crate) mod calls;
mod content;
mod keyshare;
pub(crate) mod media;

/// Decrypted media the phone received, by message id.
type MediaBytes = Arc<Mutex<HashMap<String, Vec<u8>>>>;

const ONLINE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Phone {
    pub number: String,
    client: Arc<Client>,
    handle: Mutex<Option<BotHandle>>,
    echo: Arc<AtomicBool>,
    inbox: Arc<Mutex<Vec<InboxMessage>>>,
    media: MediaBytes,
    calls: calls::CallLog,
    sync_key: SyncKey,
    raw_id: u32,
}

pub(crate) fn get(shared: &Shared, number: &str) -> Result<Arc<Phone>, FakeWaError> {
    shared
        .phones()
        .get(number)
        .cloned()
        .ok_or_else(|| FakeWaError::UnknownPhone(number.to_string()))
}

pub(crate) fn info(shared: &Shared, number: &str) -> Option<PhoneInfo> {
    let st = shared.state();
    let acc = st.accounts.get(number)?;
    Some(PhoneInfo {
        number: acc.pn.clone(),
        jid: util::jid(&acc.pn, 0, util::SERVER),
        lid: util::jid(&acc.lid, 0, "lid"),
    })
}

/// Creates the account and its phone, and waits until the phone is online. Idempotent.
pub(crate) async fn create(
    shared: &Arc<Shared>,
    number: &str,
    push_name: &str,
) -> Result<PhoneInfo, FakeWaError> {
    let number: String = number.chars().filter(char::is_ascii_digit).collect();
    if number.is_empty() {
        return Err(FakeWaError::BadRequest(
            "a phone number needs digits".into(),
        ));
    }
    let _creating = shared.create_lock.lock().await;
    if shared.phones().contains_key(&number)
        && let Some(info) = info(shared, &number)
    {
        return Ok(info);
    }
    let (lid, raw_id, key_id, key_data) = {
        let mut rng = rand::rng();
        let lid = format!(
            "{}",
            rng.random_range(100_000_000_000_000u64..999_999_999_999_999)
        );
        let raw_id: u32 = rng.random();
        let mut key_id = vec![0u8; 6];
        rng.fill_bytes(&mut key_id);
        let mut key_data = vec![0u8; 32];
        rng.fill_bytes(&mut key_data);
        (lid, raw_id, key_id, key_data)
    };
    let sync_key = SyncKey {
        id: key_id,
        data: key_data,
        timestamp_ms: util::now_ms(),
    };

    let mut dev = Device::new();
    dev.pn = Some(Jid::pn(number.clone()));
    dev.lid = Some(Jid::lid(lid.clone()));
    dev.push_name = push_name.to_string();
    dev.account = Some(Arc::new(self_signed_account(&dev.identity_key, raw_id)?));
    let key: KeyPair = dev.identity_key.clone();
    let rec = DeviceRec {
        noise_pub: Some(pub32(&dev.noise_key)),
        reg_id: dev.registration_id.to_be_bytes().to_vec(),
        identity: pub32(&dev.identity_key).to_vec(),
        skey_id: dev.signed_pre_key_id.to_be_bytes()[1..].to_vec(),
        skey_val: pub32(&dev.signed_pre_key).to_vec(),
        skey_sig: dev.signed_pre_key_signature.to_vec(),
        ..Default::default()
    };
    {
        let mut st = shared.state();
        st.accounts.insert(
            number.clone(),
            Account {
                pn: number.clone(),
                lid: lid.clone(),
                push_name: push_name.to_string(),
                key,
                raw_id,
                next_device: 1,
                next_key_index: 1,
                companions: BTreeMap::new(),
                sync_key: sync_key.clone(),
                appstate: [(
                    appstate_seed::PUSH_NAME_COLLECTION.to_string(),
                    vec![appstate_seed::push_name_patch(&sync_key, push_name)],
                )]
                .into_iter()
                .collect(),
                available: false,
                last_seen: util::now(),
                about: String::new(),
            },
        );
        st.lid_to_pn.insert(lid.clone(), number.clone());
        st.names
            .entry(push_name.to_string())
            .or_insert_with(|| number.clone());
        st.devices.insert((number.clone(), 0), rec);
    }

    let backend = open_store(shared, &number).await?;
    backend
        .save(&dev)
        .await
        .map_err(|e| FakeWaError::Phone(e.to_string()))?;
    let fingerprint = wa::message::AppStateSyncKeyFingerprint {
        raw_id: Some(raw_id),
        current_index: Some(0),
        device_indexes: vec![0],
    };
    backend
        .set_sync_key(
            &sync_key.id,
            AppStateSyncKey {
                key_data: sync_key.data.clone(),
                fingerprint: fingerprint.encode_to_vec(),
                timestamp: sync_key.timestamp_ms,
            },
        )
        .await
        .map_err(|e| FakeWaError::Phone(e.to_string()))?;
    launch(shared, &number, backend, sync_key, raw_id).await?;
    info(shared, &number).ok_or(FakeWaError::UnknownPhone(number))
}

/// The phone's whatsapp-rust store: `<data-dir>/phone-<number>.db` (SQLite), or in memory.
pub(crate) async fn open_store(
    shared: &Shared,
    number: &str,
) -> Result<Arc<dyn Backend>, FakeWaError> {
    let Some(dir) = &shared.config.data_dir else {
        return Ok(Arc::new(InMemoryBackend::new()));
    };
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("phone-{number}.db"));
    let store = SqliteStore::new(&path.to_string_lossy())
        .await
        .map_err(|e| FakeWaError::Phone(format!("{}: {e}", path.display())))?;
    Ok(Arc::new(store))
}

/// Starts the phone's client on its store and waits until it is online.
pub(crate) async fn launch(
    shared: &Arc<Shared>,
    number: &str,
    backend: Arc<dyn Backend>,
    sync_key: SyncKey,
    raw_id: u32,
) -> Result<(), FakeWaError> {
    let echo = Arc::new(AtomicBool::new(false));
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let media: MediaBytes = Arc::new(Mutex::new(HashMap::new()));
    let calls = calls::CallLog::default();
    let (online_tx, mut online_rx) = watch::channel(false);
    let (echo2, inbox2, media2) = (echo.clone(), inbox.clone(), media.clone());
    let calls2 = calls.clone();
    // The phone uploads and downloads through fakewa's media listener, trusting its CA.
    let http = crate::media::client::http_client(&shared.media.tls.ca_pem)?;
    let bot = Bot::builder()
        .with_backend_arc(backend)
        // Like wawp's sessions, with TCP_NODELAY: a phone sending more often than every 40 ms
        // would otherwise hold each message for the server's delayed ACK.
        .with_transport_factory(
            NoDelayTransportFactory::new(&shared.ws_url())
                .map_err(|e| FakeWaError::Phone(e.to_string()))?,
        )
        .with_http_client(http)
        .with_version((2, 3000, 0))
        .on_event(move |event, client| {
            let (echo, inbox, online) = (echo2.clone(), inbox2.clone(), online_tx.clone());
            let media = media2.clone();
            let calls = calls2.clone();
            async move {
                let sinks = Sinks {
                    echo: &echo,
                    inbox: &inbox,
                    media: &media,
                    calls: &calls,
                    online: &online,
                };
                on_event(&event, client, sinks).await
            }
        })
        .build()
        .await
        .map_err(|e| FakeWaError::Phone(e.to_string()))?;
    let client = bot.client();
    let handle = bot.spawn();
    let phone = Arc::new(Phone {
        number: number.to_string(),
        client,
        handle: Mutex::new(Some(handle)),
        echo,
        inbox,
        media,
        calls,
        sync_key,
        raw_id,
    });
    shared.phones().insert(number.to_string(), phone);
    let online = matches!(
        tokio::time::timeout(ONLINE_TIMEOUT, online_rx.wait_for(|v| *v)).await,
        Ok(Ok(_))
    );
    if !online {
        return Err(FakeWaError::Timeout(
            "waiting for the virtual phone to connect",
        ));
    }
    // Pairings must come after the phone's own device-list query, or its answer (without the new
    // companion) may overwrite what the `devices` notification taught it.
    let dev = (number.to_string(), 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let synced = shared.state().own_usync.contains(&dev);
        if synced || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::info!(%number, "virtual phone online");
    Ok(())
}

/// The phone's own `account`: an ADV identity signed by itself (key index 0), as a primary holds.
fn self_signed_account(
    identity: &KeyPair,
    raw_id: u32,
) -> Result<wa::ADVSignedDeviceIdentity, FakeWaError> {
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(raw_id),
        timestamp: Some(util::now() as u64),
        key_index: Some(0),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let id_pub = pub32(identity);
    let sign = |prefix: [u8; 2], tail: &[&[u8]]| {
        let mut msg = prefix.to_vec();
        msg.extend_from_slice(&details);
        for t in tail {
            msg.extend_from_slice(t);
        }
        identity
            .private_key
            .calculate_signature(&msg, &mut rand::rng())
            .map(|s| s.to_vec())
            .map_err(|e| FakeWaError::Crypto(e.to_string()))
    };
    let account_signature = sign([6, 0], &[&id_pub])?;
    let device_signature = sign([6, 1], &[&id_pub, &id_pub])?;
    Ok(wa::ADVSignedDeviceIdentity {
        details: Some(details.clone()),
        account_signature_key: Some(id_pub.to_vec()),
        account_signature: Some(account_signature),
        device_signature: Some(device_signature),
    })
}

/// Where the phone's event handler records what it sees.
struct Sinks<'a> {
    echo: &'a AtomicBool,
    inbox: &'a Mutex<Vec<InboxMessage>>,
    media: &'a Mutex<HashMap<String, Vec<u8>>>,
    calls: &'a calls::CallLog,
    online: &'a watch::Sender<bool>,
}

async fn on_event(event: &Event, client: Arc<Client>, sinks: Sinks<'_>) {
    let Sinks {
        echo,
        inbox,
        media,
        calls,
        online,
    } = sinks;
    match event {
        Event::Connected(_) => {
            let _ = online.send(true);
        }
        Event::IncomingCall(call) => calls.observe(call),
        Event::Messages(batch) => {
            for m in batch.messages.iter() {
                if m.info.source.is_from_me {
                    continue;
                }
                let text = m.message.text_content().map(str::to_string);
                // Media is downloaded before the entry appears, so a test that sees it sees the hash.
                let received = media::inspect(&client, &m.message, &m.info.r#type).await;
                if let Some(bytes) = received.bytes {
                    media
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(m.info.id.to_string(), bytes);
                }
                let entry = InboxMessage {
                    id: m.info.id.to_string(),
                    from: m.info.source.sender.to_string(),
                    chat: m.info.source.chat.to_string(),
                    kind: received.kind,
                    text: text.clone(),
                    timestamp: m.info.timestamp.timestamp(),
                    media: received.media,
                    extra: received.extra,
                };
                inbox.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
                if echo.load(Ordering::Relaxed)
                    && let Some(text) = text
                {
                    let chat = m.info.source.chat.clone();
                    if let Err(e) = client.send_text(chat, format!("echo: {text}")).await {
                        tracing::warn!("echo failed: {e}");
                    }
                }
            }
        }
        _ => {}
    }
}

/// A recipient as the API takes it: a JID, or a phone number (digits are kept).
fn recipient(to: &str) -> Result<Jid, FakeWaError> {
    if to.contains('@') {
        to.parse()
            .map_err(|_| FakeWaError::BadRequest(format!("bad jid {to}")))
    } else {
        Ok(Jid::pn(
            to.chars().filter(char::is_ascii_digit).collect::<String>(),
        ))
    }
}

impl Phone {
    pub fn set_echo(&self, on: bool) {
        self.echo.store(on, Ordering::Relaxed);
    }

    pub fn inbox(&self) -> Vec<InboxMessage> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn inbox_media(&self, id: &str) -> Result<Vec<u8>, FakeWaError> {
        self.media
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| FakeWaError::UnknownMedia(id.to_string()))
    }

    pub async fn send_media(&self, to: &str, media: PhoneMedia) -> Result<String, FakeWaError> {
        let jid = recipient(to)?;
        let message = media::upload(&self.client, media).await?;
        let sent = self
            .client
            .send_message(jid, message)
            .await
            .map_err(|e| FakeWaError::Phone(e.to_string()))?;
        Ok(sent.message_id)
    }

    pub async fn send_text(&self, to: &str, text: &str) -> Result<String, FakeWaError> {
        let jid = recipient(to)?;
        let sent = self
            .client
            .send_text(jid, text)
            .await
            .map_err(|e| FakeWaError::Phone(e.to_string()))?;
        Ok(sent.message_id)
    }

    /// Places a call to `to` (see [`calls`]); returns the call id.
    pub async fn place_call(&self, to: &str, video: bool) -> Result<String, FakeWaError> {
        calls::place(&self.client, &self.calls, to, video).await
    }

    pub fn calls(&self) -> Vec<calls::PhoneCall> {
        self.calls.list()
    }

    /// Sets the account's profile picture the way a phone does (the `w:profile:picture` set IQ);
    /// empty bytes remove it. Returns the new picture id (empty after a removal).
    pub async fn set_picture(&self, jpeg: Vec<u8>) -> Result<String, FakeWaError> {
        let profile = self.client.profile();
        let done = if jpeg.is_empty() {
            profile.remove_profile_picture().await
        } else {
            profile.set_profile_picture(jpeg).await
        };
        done.map(|r| r.id)
            .map_err(|e| FakeWaError::Phone(e.to_string()))
    }

    /// Sets the account's `profile` privacy (`all`, `contacts`, `contact_blacklist` or `none`) with the
    /// privacy set IQ, as a phone does.
    pub async fn set_picture_privacy(&self, value: &str) -> Result<(), FakeWaError> {
        use whatsapp_rust::privacy_settings::{PrivacyCategory, PrivacyValue};
        if crate::pictures::Visibility::parse(value).is_none() {
            return Err(FakeWaError::BadRequest(format!(
                "profile privacy {value:?} is not all, contacts, contact_blacklist or none"
            )));
        }
        self.client
            .set_privacy_setting(PrivacyCategory::Profile, PrivacyValue::from(value))
            .await
            .map(|_| ())
            .map_err(|e| FakeWaError::Phone(e.to_string()))
    }

    pub async fn stop(&self) {
        let handle = self.handle.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::time::timeout(Duration::from_secs(2), h.shutdown()).await;
        }
    }

    pub fn abort(&self) {
        if let Ok(h) = self.handle.lock()
            && let Some(h) = h.as_ref()
        {
            h.abort();
        }
    }
}
