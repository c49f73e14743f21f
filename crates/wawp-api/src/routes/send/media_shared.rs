//! What the media send routes (`image`, `pdf`, `voice`, `video`) share: the file goes through the
//! media pipeline first (fetch or upload, size cap, sniffed type; conversion where asked), then
//! one upload and one message. A file that fails any check is answered before anything is sent.

use wawp_core::media::{LoadedFile, MediaKind, OutgoingMedia};

use crate::error::ApiResult;
use crate::extract::{ChatId, SessionRef};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

/// How a loaded file is sent.
pub(crate) struct Sending {
    pub kind: MediaKind,
    pub caption: Option<String>,
    pub ptt: bool,
    pub video_note: bool,
}

/// Uploads `file` and sends it to `chat`; answers with the sent message.
pub(crate) async fn send_file(
    state: &AppState,
    session: &SessionRef,
    chat: &ChatId,
    file: LoadedFile,
    how: Sending,
    reply_to: Option<&str>,
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
        .send_media(&session.id, chat.as_str(), media, super::reply_to(reply_to))
        .await?;
    Ok(Reply(MessageObject(sent)))
}
