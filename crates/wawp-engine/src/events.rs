//! The client events wawp acts on, turned from whatsapp-rust's `Event` into our own type.

use std::time::Duration;

use whatsapp_rust::prelude::Event;

/// The linked account of a session, as digits (the domain adds `@c.us` / `@lid`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Phone number, digits only.
    pub phone: String,
    /// LID user, digits only, when known.
    pub lid: Option<String>,
    pub push_name: String,
    /// Platform of the primary device (e.g. `android`), when known.
    pub platform: Option<String>,
}

/// What a running session reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// A new QR code to show; valid for `timeout`.
    Qr { code: String, timeout: Duration },
    /// The phone accepted the link (QR scanned or code entered).
    Paired { account: Account },
    /// Logged in and ready to send and receive.
    Connected,
    /// The connection dropped; the client reconnects by itself.
    Disconnected { reason: String },
    /// The device was unlinked (from the phone, or by our logout); its keys are void.
    LoggedOut { reason: String },
    /// Linking failed after the phone answered.
    PairFailed { error: String },
    /// A pairing-code request failed.
    PairCodeFailed { error: String },
    /// Every QR code of this connection expired without a scan.
    QrExhausted,
    /// WhatsApp refuses this client version.
    ClientOutdated,
    /// The client's run loop ended (after a logout or a shutdown).
    Exited,
    /// Our messages `ids` in `chat` reached a new delivery state.
    Receipt {
        chat: String,
        ids: Vec<String>,
        ack: Ack,
    },
    /// A contact's presence or chat state (typing, recording, paused) changed.
    Presence(crate::signals::PresenceUpdate),
    /// A chat was archived or unarchived (on any device of the account; app state).
    ChatArchived {
        chat: String,
        archived: bool,
        /// Unix seconds.
        timestamp: i64,
    },
    /// A call rang, was answered on another device, or ended.
    Call(crate::calls::CallSignal),
    /// Every client event, raw (after its mapped event, if any), for `engine.event`; only while
    /// the session's [`crate::RawEvents`] is on.
    Raw(crate::signals::RawEvent),
}

/// Delivery states of an outgoing message (the documented `ack` numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ack {
    Error = -1,
    Pending = 0,
    Server = 1,
    Device = 2,
    Read = 3,
    Played = 4,
}

impl Ack {
    pub fn name(self) -> &'static str {
        match self {
            Ack::Error => "ERROR",
            Ack::Pending => "PENDING",
            Ack::Server => "SERVER",
            Ack::Device => "DEVICE",
            Ack::Read => "READ",
            Ack::Played => "PLAYED",
        }
    }
}

/// Digits of a JID's user part (`15550001111:3@s.whatsapp.net` → `15550001111`).
pub(crate) fn user_of(jid: &impl ToString) -> String {
    let s = jid.to_string();
    let user = s.split('@').next().unwrap_or("");
    user.split([':', '.']).next().unwrap_or("").to_string()
}

/// wawp's event for a client event, if it maps one. Each kind matched here must be listed in
/// `session::MAPPED_KINDS`, or the client is never asked for it.
pub(crate) fn from_client_event(event: &Event) -> Option<EngineEvent> {
    Some(match event {
        Event::PairingQrCode(qr) => EngineEvent::Qr {
            code: qr.code.clone(),
            timeout: qr.timeout,
        },
        Event::PairSuccess(p) => EngineEvent::Paired {
            account: Account {
                phone: user_of(&p.id),
                lid: Some(user_of(&p.lid)).filter(|l| !l.is_empty()),
                push_name: p.business_name.clone(),
                platform: Some(p.platform.clone()).filter(|p| !p.is_empty()),
            },
        },
        Event::Connected(_) => EngineEvent::Connected,
        Event::Disconnected(d) => EngineEvent::Disconnected {
            reason: format!("{:?}", d.reason),
        },
        Event::LoggedOut(l) => EngineEvent::LoggedOut {
            reason: format!("{:?}", l.reason),
        },
        Event::PairError(e) => EngineEvent::PairFailed {
            error: e.error.clone(),
        },
        Event::PairingCodeError(e) => EngineEvent::PairCodeFailed {
            error: e.error.clone(),
        },
        Event::PairingQrCodesExhausted(_) => EngineEvent::QrExhausted,
        Event::ClientOutdated(_) => EngineEvent::ClientOutdated,
        Event::Receipt(r) if !r.source.is_from_me => {
            use wacore::types::presence::ReceiptType;
            let ack = match r.r#type {
                ReceiptType::Delivered | ReceiptType::Inactive => Ack::Device,
                ReceiptType::Read => Ack::Read,
                ReceiptType::Played => Ack::Played,
                _ => return None,
            };
            let chat = if r.source.is_group {
                crate::messages::chat_id(&r.source.chat)
            } else {
                crate::messages::user_id(&r.source.chat, r.source.sender_alt.as_ref())
            };
            EngineEvent::Receipt {
                chat,
                ids: r.message_ids.iter().map(|i| i.to_string()).collect(),
                ack,
            }
        }
        Event::ChatPresence(_) | Event::Presence(_) => {
            EngineEvent::Presence(crate::signals::presence_of(event)?)
        }
        Event::ArchiveUpdate(_) => {
            let (chat, archived, timestamp) = crate::signals::archive_of(event)?;
            EngineEvent::ChatArchived {
                chat,
                archived,
                timestamp,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_part_drops_device_and_server() {
        assert_eq!(user_of(&"15550001111:3@s.whatsapp.net"), "15550001111");
        assert_eq!(user_of(&"100000000000001:33@lid"), "100000000000001");
        assert_eq!(user_of(&"15550001111@s.whatsapp.net"), "15550001111");
    }
}
