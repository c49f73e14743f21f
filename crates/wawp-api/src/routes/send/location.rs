use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use wawp_core::model::Location;
use wawp_core::sessions::Outgoing;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendLocationParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// Degrees, -90 to 90 (`38.8937255`).
    pub latitude: f64,
    /// Degrees, -180 to 180 (`-77.0969763`).
    pub longitude: f64,
    /// Name of the place.
    #[serde(default)]
    pub title: Option<String>,
    /// Address or description.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendLocationParams {
    const REQUIRED: &'static [&'static str] = &[
        "instance_id",
        "access_token",
        "chatId",
        "latitude",
        "longitude",
        "title",
        "message",
    ];
}

/// Send Location
///
/// Sends a location pin with a name and an address.
#[utoipa::path(method(post, get), path = "/v2/send/location", tag = "Send Messages", operation_id = "send_location",
    params(InstanceQuery), request_body(content = SendLocationParams),
    responses((status = 200, description = "The sent message", body = MessageObject), CommonErrors))]
pub async fn send_location(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<SendLocationParams>,
) -> ApiResult<Reply<MessageObject>> {
    if !(-90.0..=90.0).contains(&p.latitude) {
        return Err(ApiError::invalid(
            "latitude",
            "latitude must be between -90 and 90.",
        ));
    }
    if !(-180.0..=180.0).contains(&p.longitude) {
        return Err(ApiError::invalid(
            "longitude",
            "longitude must be between -180 and 180.",
        ));
    }
    let location = Location {
        latitude: p.latitude,
        longitude: p.longitude,
        name: p.title.filter(|t| !t.is_empty()),
        address: p.message.filter(|m| !m.is_empty()),
    };
    super::send_and_answer(
        &state,
        &session,
        &p.chat_id,
        Outgoing::Location(location),
        p.reply_to.as_deref(),
    )
    .await
}
