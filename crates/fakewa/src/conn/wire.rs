//! The WebSocket as a stream of WhatsApp frames: the `WA\x06\x03` intro (optionally behind an `ED\0\1`
//! edge-routing pre-intro), then 3-byte big-endian length-prefixed frames that may be split across or packed
//! into WebSocket messages.

use axum::extract::ws::{Message, WebSocket};
use bytes::BytesMut;
use wacore::framing::{FrameDecoder, encode_frame};
use wacore_binary::consts::WA_CONN_HEADER;

#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("websocket: {0}")]
    Ws(#[from] axum::Error),
    #[error("bad intro header")]
    BadIntro,
    #[error("frame: {0}")]
    Frame(String),
    #[error("noise: {0}")]
    Noise(String),
    #[error("protocol: {0}")]
    Protocol(String),
}

pub(crate) struct Wire {
    ws: WebSocket,
    decoder: FrameDecoder,
    intro: Option<Vec<u8>>,
}

impl Wire {
    pub fn new(ws: WebSocket) -> Self {
        Self {
            ws,
            decoder: FrameDecoder::new(),
            intro: Some(Vec::new()),
        }
    }

    /// The next complete frame, or `None` when the peer closed. Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Option<BytesMut>, WireError> {
        loop {
            if self.intro.is_none()
                && let Some(frame) = self.decoder.decode_frame()
            {
                return Ok(Some(frame));
            }
            let Some(msg) = self.ws.recv().await else {
                return Ok(None);
            };
            match msg? {
                Message::Binary(data) => self.feed(&data)?,
                Message::Close(_) => return Ok(None),
                _ => {}
            }
        }
    }

    fn feed(&mut self, data: &[u8]) -> Result<(), WireError> {
        let Some(buf) = self.intro.as_mut() else {
            self.decoder.feed(data);
            return Ok(());
        };
        buf.extend_from_slice(data);
        let mut start = 0;
        if buf.len() >= 2 && &buf[..2] == b"ED" {
            // Edge-routing pre-intro: "ED\0\1" + 3-byte length + routing data. fakewa never sends routing
            // info, but a client that talked to another server may still send one.
            if buf.len() < 7 {
                return Ok(());
            }
            let len = ((buf[4] as usize) << 16) | ((buf[5] as usize) << 8) | buf[6] as usize;
            if buf.len() < 7 + len {
                return Ok(());
            }
            start = 7 + len;
        }
        if buf.len() < start + WA_CONN_HEADER.len() {
            return Ok(());
        }
        if buf[start..start + WA_CONN_HEADER.len()] != WA_CONN_HEADER[..] {
            return Err(WireError::BadIntro);
        }
        let rest = buf[start + WA_CONN_HEADER.len()..].to_vec();
        self.intro = None;
        self.decoder.feed(&rest);
        Ok(())
    }

    /// Sends one frame in its own WebSocket message.
    pub async fn send_frame(&mut self, payload: &[u8]) -> Result<(), WireError> {
        let frame = encode_frame(payload, None).map_err(|e| WireError::Frame(e.to_string()))?;
        self.ws.send(Message::Binary(frame.into())).await?;
        Ok(())
    }

    /// Sends frames packed by [`push_frame`] in one WebSocket message.
    pub async fn send_packed(&mut self, packed: Vec<u8>) -> Result<(), WireError> {
        self.ws.send(Message::Binary(packed.into())).await?;
        Ok(())
    }

    pub async fn close(mut self) {
        let _ = self.ws.send(Message::Close(None)).await;
    }
}

/// Largest frame payload a 3-byte length can announce.
const MAX_FRAME: usize = (1 << 24) - 1;

/// Appends one frame (3-byte big-endian length, then the payload) to `packed`.
pub(crate) fn push_frame(packed: &mut Vec<u8>, payload: &[u8]) -> Result<(), WireError> {
    if payload.len() > MAX_FRAME {
        return Err(WireError::Frame(format!(
            "{} bytes do not fit in a frame",
            payload.len()
        )));
    }
    let len = payload.len() as u32;
    packed.extend_from_slice(&len.to_be_bytes()[1..]);
    packed.extend_from_slice(payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_frames_decode_one_by_one() {
        let mut packed = Vec::new();
        push_frame(&mut packed, b"first").expect("frame");
        push_frame(&mut packed, &[7u8; 300]).expect("frame");
        let mut decoder = FrameDecoder::new();
        decoder.feed(&packed);
        assert_eq!(decoder.decode_frame().as_deref(), Some(&b"first"[..]));
        assert_eq!(decoder.decode_frame().map(|f| f.len()), Some(300));
        assert!(decoder.decode_frame().is_none());
        assert_eq!(
            encode_frame(b"first", None).expect("encode"),
            packed[..8].to_vec()
        );
    }
}
