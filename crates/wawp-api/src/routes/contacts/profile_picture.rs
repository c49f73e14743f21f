use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::chats::{ProfilePicture, picture};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactPictureParams {
    /// The contact (`123456789@c.us`, or a bare number); a group (`…@g.us`) works too.
    #[serde(rename = "contactId")]
    pub contact_id: ChatId,
    /// Ask WhatsApp again instead of answering from the 24-hour cache.
    #[serde(default)]
    pub refresh: Option<bool>,
}

impl Required for ContactPictureParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "contactId"];
}

/// Get Contact Profile Picture
///
/// The profile picture URL of a contact: the same operation (and cache) as `/v2/chats/picture`,
/// with the contact named `contactId`.
#[utoipa::path(get, path = "/v2/contacts/profile-picture", tag = "Contacts",
    operation_id = "get_contact_profile_picture",
    params(InstanceQuery), request_body(content = ContactPictureParams),
    responses((status = 200, description = "The picture URL, or `url: null`", body = ProfilePicture),
        CommonErrors))]
pub async fn get_contact_profile_picture(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ContactPictureParams>,
) -> ApiResult<Reply<ProfilePicture>> {
    picture(&state, &session, p.contact_id, p.refresh.unwrap_or(false)).await
}
