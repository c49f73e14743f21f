//! The admin HTTP API (JSON in and out; errors as `{"error": "..."}`).
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /admin/phones` | `{"number","pushName"}` | `{"number","jid","lid"}` |
//! | `POST /admin/phones/{n}/scan` | `{"qr"}` | `{}` once linked |
//! | `POST /admin/phones/{n}/link-code` | `{"code"}` | `{}` once linked |
//! | `POST /admin/phones/{n}/send` | `{"to","text"}` or `{"to","media":{"kind","data"(base64),"mimetype","caption"?,"fileName"?,"ptt"?}}` | `{"id"}` |
//! | `GET /admin/phones/{n}/inbox` | | `[{"id","from","chat","type","text","timestamp","media"?,"extra"?}]` |
//! | `GET /admin/phones/{n}/media/{id}` | | the decrypted bytes of a received media message |
//! | `POST /admin/phones/{n}/picture` | `{"data"(base64 JPEG)}` | `{"id"}` (the phone sets its profile picture) |
//! | `DELETE /admin/phones/{n}/picture` | | `{}` (removed) |
//! | `POST /admin/phones/{n}/picture-privacy` | `{"value":"all\|contacts\|contact_blacklist\|none"}` | `{}` |
//! | `POST /admin/phones/{n}/call` | `{"to","video"?}` | `{"callId"}` (signaling only: the callee's devices ring) |
//! | `GET /admin/phones/{n}/calls` | | `[{"callId","to","video","status"}]`, status `offered`, `accepted`, `rejected` or `terminated` |
//! | `POST /admin/phones/{n}/unlink` | | `{}` |
//! | `POST /admin/phones/{n}/echo` | `{"on"}` | `{}` |
//! | `POST /admin/connections/drop` | `{"jid"}` | `{"dropped"}` |
//! | `GET /admin/health` | | `{"status":"ok"}` |
//! | `GET /admin/ca` | | `{"rootPublicKey": base64}` |
//! | `GET /admin/media-ca` | | the media CA's PEM (`text/plain`) |
//! | `POST /admin/mock-phone/scan-qr` | raw QR | `{"number","jid","lid"}` (account chosen by push name) |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::stanza::{devices, login, pair, paircode};
use crate::{FakeWaError, PhoneMedia, Shared, phone};

type Shd = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/ca", get(ca))
        .route("/media-ca", get(media_ca))
        .route("/phones", post(create_phone))
        .route("/phones/{number}/scan", post(scan))
        .route("/phones/{number}/link-code", post(link_code))
        .route("/phones/{number}/send", post(send))
        .route("/phones/{number}/inbox", get(inbox))
        .route("/phones/{number}/media/{id}", get(inbox_media))
        .route(
            "/phones/{number}/picture",
            post(set_picture).delete(remove_picture),
        )
        .route("/phones/{number}/picture-privacy", post(picture_privacy))
        .route("/phones/{number}/call", post(place_call))
        .route("/phones/{number}/calls", get(calls))
        .route("/phones/{number}/unlink", post(unlink))
        .route("/phones/{number}/echo", post(echo))
        .route("/connections/drop", post(drop_connection))
        .route("/mock-phone/scan-qr", post(mock_scan_qr))
}

impl IntoResponse for FakeWaError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

type Answer = Result<Json<Value>, FakeWaError>;

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, FakeWaError> {
    serde_json::from_slice(bytes).map_err(|e| FakeWaError::BadRequest(format!("body: {e}")))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Connected devices and the stanzas waiting in their queues (sent and not yet acknowledged, or
/// held for an offline device), by class: a relay that keeps up holds few.
async fn stats(State(s): Shd) -> Json<Value> {
    let stats = s.mail().stats();
    Json(json!({
        "connections": stats.connections,
        "queued": stats.queued,
        "devices": stats.devices,
    }))
}

async fn ca(State(s): Shd) -> Json<Value> {
    Json(json!({ "rootPublicKey": B64.encode(s.certs.root_public()) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewPhone {
    number: String,
    #[serde(default, alias = "push_name")]
    push_name: Option<String>,
}

async fn create_phone(State(s): Shd, b: Bytes) -> Answer {
    let req: NewPhone = body(&b)?;
    let name = req.push_name.unwrap_or_else(|| req.number.clone());
    let info = phone::create(&s, &req.number, &name).await?;
    Ok(Json(json!(info)))
}

#[derive(Deserialize)]
struct Qr {
    qr: String,
}

async fn scan(State(s): Shd, Path(number): Path<String>, b: Bytes) -> Answer {
    let req: Qr = body(&b)?;
    pair::scan_qr(&s, &number, &req.qr).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

async fn link_code(State(s): Shd, Path(number): Path<String>, b: Bytes) -> Answer {
    let req: Code = body(&b)?;
    paircode::enter_link_code(&s, &number, &req.code).await?;
    Ok(Json(json!({})))
}

async fn media_ca(State(s): Shd) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        s.media.tls.ca_pem.clone(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Send {
    to: String,
    text: Option<String>,
    media: Option<SendMedia>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendMedia {
    kind: String,
    data: String,
    mimetype: String,
    caption: Option<String>,
    #[serde(alias = "file_name")]
    file_name: Option<String>,
    #[serde(default)]
    ptt: bool,
}

async fn send(State(s): Shd, Path(number): Path<String>, b: Bytes) -> Answer {
    let req: Send = body(&b)?;
    let phone = phone::get(&s, &number)?;
    let id = match (req.text, req.media) {
        (None, Some(m)) => {
            let media = PhoneMedia {
                kind: m.kind,
                data: phone::media::decode_base64(&m.data)?,
                mimetype: m.mimetype,
                caption: m.caption,
                file_name: m.file_name,
                ptt: m.ptt,
            };
            phone.send_media(&req.to, media).await?
        }
        (Some(text), None) => phone.send_text(&req.to, &text).await?,
        _ => {
            return Err(FakeWaError::BadRequest(
                "give either \"text\" or \"media\"".into(),
            ));
        }
    };
    Ok(Json(json!({ "id": id })))
}

async fn inbox_media(State(s): Shd, Path((number, id)): Path<(String, String)>) -> Response {
    let phone = match phone::get(&s, &number) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mimetype = phone
        .inbox()
        .into_iter()
        .find(|m| m.id == id)
        .and_then(|m| m.media)
        .and_then(|m| m.mimetype)
        .unwrap_or_else(|| "application/octet-stream".into());
    match phone.inbox_media(&id) {
        Ok(bytes) => ([(header::CONTENT_TYPE, mimetype)], bytes).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn inbox(State(s): Shd, Path(number): Path<String>) -> Answer {
    Ok(Json(json!(phone::get(&s, &number)?.inbox())))
}

#[derive(Deserialize)]
struct NewPicture {
    data: String,
}

async fn set_picture(State(s): Shd, Path(number): Path<String>, b: Bytes) -> Answer {
    let req: NewPicture = body(&b)?;
    let jpeg = phone::media::decode_base64(&req.data)?;
    if jpeg.is_empty() {
        return Err(FakeWaError::BadRequest(
            "\"data\" is empty (DELETE removes the picture)".into(),
        ));
    }
    let id = phone::get(&s, &number)?.set_picture(jpeg).await?;
    Ok(Json(json!({ "id": id })))
}

async fn remove_picture(State(s): Shd, Path(number): Path<String>) -> Answer {
    phone::get(&s, &number)?.set_picture(Vec::new()).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct PicturePrivacy {
    value: String,
}

async fn picture_privacy(State(s): Shd, Path(number): Path<String>, b: Bytes) -> Answer {
    let req: PicturePrivacy = body(&b)?;
    phone::get(&s, &number)?
        .set_picture_privacy(&req.value)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct Call {
    to: String,
    #[serde(default)]
    video: bool,
}

async fn place_call(State(s): Shd, Path(number): Path<String>, b: Bytes) -> Answer {
    let req: Call = body(&b)?;
    let call_id = phone::get(&s, &number)?
        .place_call(&req.to, req.video)
        .await?;
    Ok(Json(json!({ "callId": call_id })))
}

async fn calls(State(s): Shd, Path(number): Path<String>) -> Answer {
    Ok(Json(json!(phone::get(&s, &number)?.calls())))
}

async fn unlink(State(s): Shd, Path(number): Path<String>) -> Answer {
    devices::unlink(&s, &number)?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct Echo {
    on: bool,
}

async fn echo(State(s): Shd, Path(number): Path<String>, b: Bytes) -> Answer {
    let req: Echo = body(&b)?;
    phone::get(&s, &number)?.set_echo(req.on);
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct Jid {
    jid: String,
}

async fn drop_connection(State(s): Shd, b: Bytes) -> Answer {
    let req: Jid = body(&b)?;
    let dropped = login::drop_connection(&s, &req.jid)?;
    Ok(Json(json!({ "dropped": dropped })))
}

/// The suite's "phone scan": the account is picked by the push name of the registration that shows this
/// QR — a new name makes a new account (generated number and LID), a known one links another companion.
async fn mock_scan_qr(State(s): Shd, b: Bytes) -> Answer {
    let qr = String::from_utf8_lossy(&b).trim().to_string();
    let parsed = pair::parse_qr(&qr)?;
    let (name, known, generated) = {
        let mut st = s.state();
        let pending = st
            .pending
            .get(&parsed.noise_pub)
            .ok_or(FakeWaError::NoPendingQr)?;
        let name = pending.push_name.clone();
        let known = name.as_ref().and_then(|n| st.names.get(n).cloned());
        st.next_generated += 1;
        let generated = st.next_generated;
        (name, known, generated)
    };
    let number = match known {
        Some(n) => n,
        None => {
            let number = format!("55998{generated:07}");
            let name = name.unwrap_or_else(|| format!("Fake User {generated}"));
            phone::create(&s, &number, &name).await?;
            number
        }
    };
    pair::scan_qr(&s, &number, &qr).await?;
    let info = phone::info(&s, &number).ok_or(FakeWaError::UnknownPhone(number))?;
    Ok(Json(json!(info)))
}
