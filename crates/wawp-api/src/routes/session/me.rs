use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// The nested `me` of the documents' example.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeInner {
    pub id: String,
    pub name: Option<String>,
}

/// The linked WhatsApp account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "201012345678@c.us", "lid": "123456789012345@lid", "pushName": "John Doe",
    "platform": "android", "me": {"id": "201012345678@c.us", "name": "John Doe"}}))]
pub struct MeView {
    /// `<digits>@c.us`
    pub id: String,
    /// `<digits>@lid`, when known.
    pub lid: Option<String>,
    #[serde(rename = "pushName")]
    pub push_name: Option<String>,
    /// Platform of the linked phone (`android`, `iphone`, …), when known.
    pub platform: Option<String>,
    // Wawp: the documents' example repeats the account under `me` with `name`.
    pub me: MeInner,
}

/// About WhatsApp Data
///
/// The WhatsApp account the session is linked to: id, LID, push name and platform.
#[utoipa::path(get, path = "/v2/session/me", tag = "Session Management", operation_id = "about_whatsapp_data",
    params(InstanceQuery), responses((status = 200, description = "Linked account", body = MeView), CommonErrors))]
pub async fn about_whatsapp_data(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<MeView>> {
    let me = state.core.sessions().me(&session.id).await?;
    Ok(Reply(MeView {
        me: MeInner {
            id: me.id.clone(),
            name: me.push_name.clone(),
        },
        id: me.id,
        lid: me.lid,
        push_name: me.push_name,
        platform: me.platform,
    }))
}
