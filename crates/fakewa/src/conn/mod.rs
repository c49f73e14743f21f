//! One task per WebSocket: handshake, then a loop over inbound frames (decrypted, decoded and handled in
//! arrival order) and the connection's mpsc of outbound nodes.

mod noise;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use tokio::sync::mpsc;
use wacore::noise::NoiseCipher;
use wacore_binary::Node;

use crate::Shared;
use crate::stanza;
use crate::state::{DevKey, Out, OutTx};
use wire::{Wire, WireError};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// What a stanza handler knows about the connection it runs on.
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub conn_id: u64,
    pub tx: OutTx,
    /// The client's Noise static key.
    pub noise_pub: [u8; 32],
    /// Set once the device logged in.
    pub device: Option<DevKey>,
}

impl Ctx {
    pub fn send(&self, node: Node) {
        let _ = self.tx.send(Out::Node(node));
    }

    pub fn close_with(&self, node: Option<Node>) {
        let _ = self.tx.send(Out::Close(node));
    }
}

struct Ciphers {
    read: NoiseCipher,
    write: NoiseCipher,
    read_ctr: u32,
    write_ctr: u32,
}

impl Ciphers {
    fn seal(&mut self, node: &Node) -> Result<Vec<u8>, WireError> {
        let plain = wacore_binary::marshal(node).map_err(|e| WireError::Frame(e.to_string()))?;
        let sealed = self
            .write
            .encrypt_with_counter(self.write_ctr, &plain)
            .map_err(|e| WireError::Noise(e.to_string()))?;
        self.write_ctr = self.write_ctr.wrapping_add(1);
        Ok(sealed)
    }

    fn open(&mut self, frame: &[u8]) -> Result<Node, WireError> {
        let mut buf = frame.to_vec();
        self.read
            .decrypt_in_place_with_counter(self.read_ctr, &mut buf)
            .map_err(|e| WireError::Noise(e.to_string()))?;
        self.read_ctr = self.read_ctr.wrapping_add(1);
        let data =
            wacore_binary::util::unpack(&buf).map_err(|e| WireError::Frame(e.to_string()))?;
        let node = wacore_binary::marshal::unmarshal_ref(&data)
            .map_err(|e| WireError::Frame(e.to_string()))?;
        Ok(node.to_owned())
    }
}

/// Serves one WebSocket until either side closes or fakewa shuts down.
pub(crate) async fn serve(ws: WebSocket, shared: Arc<Shared>) {
    let conn_id = shared.next_conn_id();
    let mut wire = Wire::new(ws);
    let session =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, noise::respond(&mut wire, &shared.certs))
            .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(conn_id, "handshake failed: {e}");
                wire.close().await;
                return;
            }
            Err(_) => {
                tracing::debug!(conn_id, "handshake timed out");
                wire.close().await;
                return;
            }
        };
    tracing::debug!(conn_id, pattern = session.pattern, "handshake complete");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut ctx = Ctx {
        shared: shared.clone(),
        conn_id,
        tx,
        noise_pub: session.client_static,
        device: None,
    };
    let mut ciphers = Ciphers {
        read: session.read,
        write: session.write,
        read_ctr: 0,
        write_ctr: 0,
    };
    stanza::login::start(&mut ctx, &session.payload);

    let token = shared.token.clone();
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            out = rx.recv() => match out {
                Some(first) => match send_batch(&mut wire, &mut ciphers, first, &mut rx).await {
                    Ok(Batch::Sent) => {}
                    Ok(Batch::Closing) => break,
                    Err(e) => {
                        tracing::debug!(conn_id, "send failed: {e}");
                        break;
                    }
                },
                None => break,
            },
            frame = wire.next_frame() => match frame {
                Ok(Some(frame)) => match ciphers.open(&frame) {
                    Ok(node) => {
                        tracing::trace!(conn_id, "<- {}", wacore::xml::DisplayableNode(&node));
                        stanza::dispatch(&mut ctx, node);
                    }
                    Err(e) => {
                        tracing::debug!(conn_id, "bad frame: {e}");
                        break;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(conn_id, "read failed: {e}");
                    break;
                }
            },
        }
    }
    stanza::login::disconnected(&ctx);
    wire.close().await;
}

/// Most frames packed into one WebSocket message, and the size after which a batch goes out.
const MAX_BATCH_FRAMES: usize = 128;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// What a batch ended with.
enum Batch {
    Sent,
    /// An `Out::Close` was in it: its node (if any) went out, the socket is to be closed.
    Closing,
}

/// Sends `first` and whatever else is already queued for this connection (up to the limits above)
/// in one WebSocket message: WhatsApp frames may be packed, whatsapp-rust's decoder takes them one
/// by one, and one message (one write, one flush) per stanza was the largest cost of a busy relay.
async fn send_batch(
    wire: &mut Wire,
    ciphers: &mut Ciphers,
    first: Out,
    rx: &mut mpsc::UnboundedReceiver<Out>,
) -> Result<Batch, WireError> {
    let mut packed = Vec::new();
    let mut frames = 0;
    let mut next = Some(first);
    let mut end = Batch::Sent;
    while let Some(out) = next.take() {
        let node = match &out {
            Out::Node(node) => Some(node),
            Out::Shared(node) => Some(&**node),
            Out::Close(node) => {
                end = Batch::Closing;
                node.as_ref()
            }
        };
        if let Some(node) = node {
            tracing::trace!("-> {}", wacore::xml::DisplayableNode(node));
            wire::push_frame(&mut packed, &ciphers.seal(node)?)?;
            frames += 1;
        }
        if matches!(end, Batch::Closing) || frames >= MAX_BATCH_FRAMES {
            break;
        }
        if packed.len() < MAX_BATCH_BYTES {
            next = rx.try_recv().ok();
        }
    }
    if !packed.is_empty() {
        wire.send_packed(packed).await?;
    }
    Ok(end)
}
