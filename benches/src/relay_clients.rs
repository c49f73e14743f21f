//! The relay bench's clients: whatsapp-rust companions in this process, each linked (QR, scanned
//! by fakewa's admin API) to its own fakewa phone, and the [`Tracker`] their event handlers feed:
//! each received bench text is matched to the moment its send started.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::oneshot;
use wacore::proto_helpers::MessageExt as _;
use wacore::store::InMemoryBackend;
use wacore::types::events::Event;
use wacore_binary::Jid;
use whatsapp_rust::Client;
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

use crate::http::{Body, Http};

/// Bench texts start with this, then the run number and the sequence number.
pub(crate) const TAG: &str = "relay-bench";
/// How long linking one client may take (QR, scan, login).
const LINK_DEADLINE: Duration = Duration::from_secs(60);

/// What one run has sent and received.
#[derive(Default)]
struct RunState {
    run: u64,
    /// Sequence number → when its send started, and how often it arrived.
    sent: HashMap<u64, (Instant, u32)>,
    /// Send start → receive event, µs.
    latency: Option<Histogram<u64>>,
    last_received: Option<Instant>,
    /// Texts of another run (late arrivals) or never sent.
    stale: u64,
}

/// Shared by the senders and every client's event handler.
#[derive(Default)]
pub(crate) struct Tracker {
    state: Mutex<RunState>,
    received: AtomicU64,
    duplicates: AtomicU64,
}

/// A run's receive side, read when it ends.
pub(crate) struct Received {
    pub received: u64,
    pub duplicates: u64,
    pub stale: u64,
    pub latency: Histogram<u64>,
    pub last: Option<Instant>,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts run `run`: forgets the previous one.
    pub fn begin(&self, run: u64) -> anyhow::Result<()> {
        let latency = Histogram::new_with_bounds(1, 600_000_000, 3)?;
        *self.lock() = RunState {
            run,
            latency: Some(latency),
            ..RunState::default()
        };
        self.received.store(0, Ordering::Relaxed);
        self.duplicates.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Records that message `seq` is about to be sent; returns its text.
    pub fn sending(&self, seq: u64) -> String {
        let mut st = self.lock();
        st.sent.insert(seq, (Instant::now(), 0));
        format!("{TAG} {} {seq}", st.run)
    }

    /// How many messages of the current run were sent and have not arrived yet.
    pub fn outstanding(&self) -> usize {
        self.lock().sent.values().filter(|(_, n)| *n == 0).count()
    }

    fn on_text(&self, text: &str, at: Instant) {
        let mut parts = text.split(' ');
        let (Some(TAG), Some(run), Some(seq)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let (Ok(run), Ok(seq)) = (run.parse::<u64>(), seq.parse::<u64>()) else {
            return;
        };
        let mut st = self.lock();
        if run != st.run {
            st.stale += 1;
            return;
        }
        let Some((start, count)) = st.sent.get_mut(&seq) else {
            st.stale += 1;
            return;
        };
        *count += 1;
        if *count > 1 {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let micros = at.saturating_duration_since(*start).as_micros() as u64;
        if let Some(h) = st.latency.as_mut() {
            let _ = h.record(micros.max(1));
        }
        st.last_received = Some(at);
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    pub fn finish(&self) -> anyhow::Result<Received> {
        let mut st = self.lock();
        let latency = match st.latency.take() {
            Some(h) => h,
            None => Histogram::new(3)?,
        };
        Ok(Received {
            received: self.received.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            stale: st.stale,
            latency,
            last: st.last_received,
        })
    }
}

/// A linked companion.
pub(crate) struct Linked {
    pub client: Arc<Client>,
    /// Its account, as senders address it (`<number>@s.whatsapp.net`).
    pub jid: Jid,
    handle: Option<BotHandle>,
}

impl Drop for Linked {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

/// Creates fakewa phone `number`, starts a companion, has the phone scan its QR and waits for
/// `Connected`.
pub(crate) async fn link(
    http: &Http,
    fakewa_http: &str,
    ws_url: &str,
    number: &str,
    tracker: Arc<Tracker>,
) -> anyhow::Result<Linked> {
    let admin = |path: &str| format!("{fakewa_http}/admin{path}");
    let phone = json!({ "number": number, "pushName": format!("Relay {number}") });
    http.call("POST", &admin("/phones"), None, Body::Json(&phone))
        .await?
        .ok("create phone")?;
    let (qr_tx, qr_rx) = oneshot::channel();
    let (up_tx, up_rx) = oneshot::channel();
    let signals = Arc::new(Mutex::new((Some(qr_tx), Some(up_tx))));
    let bot = Bot::builder()
        .with_backend_arc(Arc::new(InMemoryBackend::new()))
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(ws_url))
        .with_version((2, 3000, 0))
        .with_push_name(format!("Relay {number}"))
        .on_event(move |event, _client| {
            let (tracker, signals) = (tracker.clone(), signals.clone());
            async move { on_event(&event, &tracker, &signals) }
        })
        .build()
        .await
        .context("build a whatsapp-rust client")?;
    let client = bot.client();
    let mut linked = Linked {
        client,
        jid: Jid::pn(number),
        handle: None,
    };
    linked.handle = Some(bot.spawn());
    let qr = tokio::time::timeout(LINK_DEADLINE, qr_rx)
        .await
        .context("no QR code in time")?
        .context("client stopped before its QR code")?;
    http.call(
        "POST",
        &admin(&format!("/phones/{number}/scan")),
        None,
        Body::Json(&json!({ "qr": qr })),
    )
    .await?
    .ok("scan")?;
    tokio::time::timeout(LINK_DEADLINE, up_rx)
        .await
        .context("not connected in time")?
        .context("client stopped before connecting")?;
    Ok(linked)
}

type Signals = Mutex<(Option<oneshot::Sender<String>>, Option<oneshot::Sender<()>>)>;

fn on_event(event: &Event, tracker: &Tracker, signals: &Signals) {
    match event {
        Event::Messages(batch) => {
            let at = Instant::now();
            for m in batch.messages.iter() {
                if !m.info.source.is_from_me
                    && let Some(text) = m.message.text_content()
                {
                    tracker.on_text(text, at);
                }
            }
        }
        Event::PairingQrCode(q) => {
            let tx = signals.lock().ok().and_then(|mut s| s.0.take());
            if let Some(tx) = tx {
                let _ = tx.send(q.code.clone());
            }
        }
        Event::Connected(_) => {
            let tx = signals.lock().ok().and_then(|mut s| s.1.take());
            if let Some(tx) = tx {
                let _ = tx.send(());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_matched_to_their_run_and_counted_once() {
        let t = Tracker::default();
        t.begin(7).expect("histogram");
        let text = t.sending(1);
        assert_eq!(text, format!("{TAG} 7 1"));
        t.on_text(&text, Instant::now());
        t.on_text(&text, Instant::now());
        t.on_text(&format!("{TAG} 6 1"), Instant::now());
        t.on_text("hello", Instant::now());
        let r = t.finish().expect("finish");
        assert_eq!((r.received, r.duplicates, r.stale), (1, 1, 1));
        assert_eq!(r.latency.len(), 1);
    }
}
