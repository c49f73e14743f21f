//! The one visible list of Wawp API routes that are **not served yet** (every other spec route is
//! in a route table). Later issues move lines from here into `routes/<folder>/mod.rs`; the
//! spec-coverage test fails when a spec route is in neither place, or in both. Nothing here is
//! routed: a pending route answers `404 not_found` like any unknown path, never a placeholder.
//! Served as JSON at `GET /v2/pending-routes` and listed in the OpenAPI description.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::reply::Reply;
use crate::state::AppState;

/// A spec route not implemented yet: its methods as the spec lists them, its path and, where the
/// spec gives one, its `realPath` alias.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct PendingRoute {
    pub methods: &'static str,
    pub path: &'static str,
    #[serde(rename = "realPath", skip_serializing_if = "Option::is_none")]
    pub real_path: Option<&'static str>,
    pub category: &'static str,
    pub title: &'static str,
}

const fn p(
    methods: &'static str,
    path: &'static str,
    real_path: Option<&'static str>,
    category: &'static str,
    title: &'static str,
) -> PendingRoute {
    PendingRoute {
        methods,
        path,
        real_path,
        category,
        title,
    }
}

#[rustfmt::skip]
pub const PENDING: &[PendingRoute] = &[
    p("GET", "/v2/profile", None, "Whatsapp Profile info", "Get profile"),
    p("PUT", "/v2/profile/name", None, "Whatsapp Profile info", "Set Profile Name"),
    p("PUT", "/v2/profile/status", None, "Whatsapp Profile info", "Set 'About' status"),
    p("PUT", "/v2/profile/picture", None, "Whatsapp Profile info", "Upload Whatsapp picture"),
    p("DELETE", "/v2/profile/picture-delete", Some("/v2/profile/picture"), "Whatsapp Profile info", "Delete profile picture"),
    p("POST", "/v2/presence", None, "Presence information", "Set session presence"),
    p("GET", "/v2/presence/{chatId}", None, "Presence information", "Get the presence for the chat id"),
    p("GET", "/v2/presence", Some("/v2/presence/get"), "Presence", "Get General Presence"),
    p("POST", "/v2/presence/{chatId}/subscribe", None, "Presence", "Subscribe to Presence"),
    p("POST", "/v2/status/text", None, "24 Hour Status", "Text status"),
    p("POST", "/v2/status/image", None, "24 Hour Status", "Image status"),
    p("POST", "/v2/status/voice", None, "24 Hour Status", "Voice status"),
    p("POST", "/v2/status/video", None, "24 Hour Status", "Video status"),
    p("GET", "/v2/status/new-message-id", None, "Status", "Get New Status ID"),
    p("POST", "/v2/status/delete", None, "24 Hour Status", "Delete status"),
    p("GET", "/v2/channels", None, "Channels Control", "Get Channels List"),
    p("POST", "/v2/channels/create", Some("/v2/channels"), "Channels Control", "Create Channel"),
    p("GET", "/v2/channels/{id}", None, "Channels Control", "Get Channel Info"),
    p("GET", "/v2/channels/{invite}/messages/preview", None, "Channels Control", "Preview Channel Messages"),
    p("POST", "/v2/channels/{id}/follow", None, "Channels Control", "Follow Channel"),
    p("POST", "/v2/channels/{id}/unfollow", None, "Channels Control", "Unfollow Channel"),
    p("POST", "/v2/channels/{id}/mute", None, "Channels Control", "Mute Channel"),
    p("POST", "/v2/channels/{id}/unmute", None, "Channels Control", "Unmute Channel"),
    p("GET", "/v2/channels/search/view", None, "Channels Control", "Search Channels by View"),
    p("GET", "/v2/channels/search/text", None, "Channels Control", "Search Channels by Text"),
    p("GET", "/v2/channels/search/views", None, "Channels Control", "Get Channel Views"),
    p("GET", "/v2/channels/search/countries", None, "Channels Control", "Get Channel Countries"),
    p("GET", "/v2/channels/search/categories", None, "Channels Control", "Get Channel Categories"),
    p("GET", "/v2/contacts/all", None, "Contacts", "Get All Contacts"),
    p("GET", "/v2/contacts", None, "Contacts", "Get Contact Info"),
    p("GET", "/v2/contacts/check-exists", None, "Contacts", "Check Phone on WhatsApp"),
    p("PUT", "/v2/contacts/{chatId}", None, "Contacts", "Create/Update Contact"),
    p("GET", "/v2/lids", None, "Contacts", "Get LIDs Mapping"),
    p("GET", "/v2/lids/pn/{number}", None, "Contacts", "Get LID by Phone"),
    p("GET", "/v2/lids/{lid}", None, "Contacts", "Get Phone by LID"),
    p("GET", "/v2/lids/count", None, "Contacts", "Get LIDs Count"),
    p("GET", "/v2/labels", None, "Labels", "Get All Labels"),
    p("GET", "/v2/labels/{id}", None, "Labels", "Get Label"),
    p("POST", "/v2/labels/create", Some("/v2/labels"), "Labels", "Create Label"),
    p("PUT", "/v2/labels/{labelId}/update", Some("/v2/labels/{labelId}"), "Labels", "Update Label"),
    p("DELETE", "/v2/labels/{labelId}/delete", Some("/v2/labels/{labelId}"), "Labels", "Delete Label"),
    p("GET", "/v2/labels/{labelId}/chats", None, "Labels", "Get Chats with Label"),
    p("PUT", "/v2/labels/{id}/chats/{chatId}", None, "Labels", "Link Label to Chat"),
    p("DELETE", "/v2/labels/{id}/chats/{chatId}", None, "Labels", "Unlink Label from Chat"),
    p("GET", "/v2/labels/chats/{chatId}", None, "Labels", "Get Chat Labels"),
    p("PUT", "/v2/labels/chats/{chatId}", None, "Labels", "Set Chat Labels"),
    p("GET", "/v2/groups", None, "Groups", "Get All List groups"),
    p("POST", "/v2/groups/create", Some("/v2/groups"), "Groups", "Create group"),
    p("GET,POST", "/v2/groups/join", None, "Groups", "Join group / Get join info"),
    p("GET", "/v2/groups/count", None, "Groups", "Get the number of groups"),
    p("GET", "/v2/groups/{id}", None, "Groups", "Get the group"),
    p("POST", "/v2/groups/{id}/leave", None, "Groups", "Leave the group"),
    p("GET", "/v2/groups/{id}/picture", None, "Groups", "Get group picture"),
    p("PUT", "/v2/groups/{id}/picture", None, "Groups", "Set group picture"),
    p("DELETE", "/v2/groups/{id}/picture", None, "Groups", "Delete group picture"),
    p("PUT", "/v2/groups/{id}/description", None, "Groups", "Updates the group description"),
    p("PUT", "/v2/groups/{id}/subject", None, "Groups", "Updates the group subject"),
    p("GET", "/v2/groups/{id}/settings/security/info-admin-only", None, "Groups", "Get \"info admin only\" settings"),
    p("PUT", "/v2/groups/{id}/settings/security/info-admin-only", None, "Groups", "Updates \"info admin only\" settings"),
    p("GET", "/v2/groups/{id}/settings/security/messages-admin-only", None, "Groups", "Get settings - who can send messages"),
    p("PUT", "/v2/groups/{id}/settings/security/messages-admin-only", None, "Groups", "Set messages admin only"),
    p("GET", "/v2/groups/{id}/invite-code", None, "Groups", "Get the invite code for the group"),
    p("POST", "/v2/groups/{id}/invite-code/revoke", None, "Groups", "Invalidates the current group invite code and generates a new one"),
    p("GET", "/v2/groups/{id}/participants", None, "Groups", "Get participants"),
    p("POST", "/v2/groups/{id}/participants/add", None, "Groups", "Add participants"),
    p("POST", "/v2/groups/{id}/participants/remove", None, "Groups", "Remove participants"),
    p("POST", "/v2/groups/{id}/admin/promote", None, "Groups", "Promote participants to admin users"),
    p("POST", "/v2/groups/{id}/admin/demote", None, "Groups", "Demotes participants to regular users"),
];

/// The list, for the OpenAPI description: one `METHODS path` line each.
pub fn as_markdown() -> String {
    PENDING
        .iter()
        .map(|r| match r.real_path {
            Some(real) => format!(
                "- `{} {}` (also `{real}`): {}\n",
                r.methods, r.path, r.title
            ),
            None => format!("- `{} {}`: {}\n", r.methods, r.path, r.title),
        })
        .collect()
}

/// Pending routes
///
/// The Wawp API routes this server does not serve yet.
#[utoipa::path(get, path = "/v2/pending-routes", tag = "Server", operation_id = "pending_routes",
    responses((status = 200, description = "Routes not implemented yet", body = Vec<PendingRoute>)))]
pub async fn pending_routes(State(_state): State<AppState>) -> Reply<&'static [PendingRoute]> {
    Reply(PENDING)
}
