//! What the media send routes (`image`, `pdf`, `voice`, `video`) share: the file goes through the
//! media pipeline first (fetch or upload, size cap, sniffed type; conversion where asked), then
//! one upload and one message. A file that fails any check is answered before anything is sent.
//!
//! Each route keeps its own parameters, docs and conversion step; what they have in common (the
//! required names, how the message is described, the send itself) is here.

use wawp_core::media::{LoadedFile, MediaKind, OutgoingMedia};

use crate::error::ApiResult;
use crate::extract::{ChatId, SessionRef};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

/// The required names of every media send route (`file[url]` is also met by an uploaded part).
pub(crate) const REQUIRED: &[&str] = &["instance_id", "access_token", "chatId", "file[url]"];

/// Where a loaded file goes and how it is shown.
pub(crate) struct Sending<'a> {
    chat: &'a ChatId,
    reply_to: Option<&'a str>,
    kind: MediaKind,
    caption: Option<String>,
    ptt: bool,
    video_note: bool,
}

impl<'a> Sending<'a> {
    /// A `kind` message to `chat`, as a reply when `reply_to` names a message; no caption.
    pub(crate) fn new(chat: &'a ChatId, reply_to: Option<&'a str>, kind: MediaKind) -> Self {
        Sending {
            chat,
            reply_to,
            kind,
            caption: None,
            ptt: false,
            video_note: false,
        }
    }

    /// Shown under the file; a blank caption is none.
    pub(crate) fn caption(mut self, caption: Option<String>) -> Self {
        self.caption = caption;
        self
    }

    /// Audio as a voice note (push-to-talk).
    pub(crate) fn voice_note(mut self) -> Self {
        self.ptt = true;
        self
    }

    /// Video as a round video note.
    pub(crate) fn video_note(mut self, on: bool) -> Self {
        self.video_note = on;
        self
    }
}

/// Uploads `file` and sends it as `how` says; answers with the sent message.
pub(crate) async fn send_file(
    state: &AppState,
    session: &SessionRef,
    file: LoadedFile,
    how: Sending<'_>,
) -> ApiResult<Reply<MessageObject>> {
    let media = OutgoingMedia {
        kind: how.kind,
        data: file.bytes,
        mimetype: file.mimetype,
        filename: Some(file.filename),
        caption: how.caption.filter(|c| !c.trim().is_empty()),
        ptt: how.ptt,
        video_note: how.video_note,
        seconds: file.seconds,
    };
    let sent = state
        .core
        .sessions()
        .send_media(
            &session.id,
            how.chat.as_str(),
            media,
            super::reply_to(how.reply_to),
        )
        .await?;
    Ok(Reply(MessageObject(sent)))
}
