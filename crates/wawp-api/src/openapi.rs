//! The OpenAPI 3.1 document (utoipa), served at `/openapi.json` with Swagger UI at `/docs`
//! (vendored: no network at build or run time). Every handler carries its `#[utoipa::path]`;
//! this file lists them and the shared schemas. Its description lists the pending routes.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

use crate::health;
use crate::routes::{
    admin, auth, calls, chats, contacts, events, files, media, messages, pending, send, session,
    webhooks,
};

/// `{code, message, details}`: every error, in every format.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "missing_param", "message": "Missing required parameter: instance_id",
    "details": {"missing": ["instance_id"], "recommendation": "Check if the parameter is spelled correctly and present in the request body/query."}}))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
}

/// The errors any instance route can answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum CommonErrors {
    /// `missing_param` (every missing name), `invalid_param`, `invalid_chat_id`
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// `invalid_access_token`
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `quota_reached`
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `invalid_session` (unknown instance, or another token's)
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// `payload_too_large`
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `session_unexpected_status` (`details.status`, `details.expected`)
    #[response(status = 422)]
    WrongState(ErrorBody),
    /// `rate_limit_exceeded` (`details.retryAfter`, `Retry-After` header)
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// `server_error` (with `details.requestId`)
    #[response(status = 500)]
    ServerError(ErrorBody),
    /// `proxy_error` (`details.upstream`)
    #[response(status = 502)]
    ProxyError(ErrorBody),
    /// `upstream_timeout`
    #[response(status = 504)]
    UpstreamTimeout(ErrorBody),
}

/// The errors of routes that take a file (`file[url]` or an upload). The spec gives no code of its
/// own for a bad file URL: wawp answers `invalid_param` naming `file[url]`, with the reason.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum MediaErrors {
    /// `invalid_param` for `file[url]`: refused by the SSRF guard (`details.reason`), not a URL,
    /// unreachable, or answering an HTTP error
    #[response(status = 400)]
    BadFile(ErrorBody),
    /// `payload_too_large`: the file is above the server's limit (`details.limit`, bytes)
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`: the file's bytes are not what the route sends
    /// (`details.expected`, `details.detected`), or could not be converted
    #[response(status = 415)]
    WrongType(ErrorBody),
}

/// `instance_id` and `access_token` (query, or any body form; the token preferably as
/// `Authorization: Bearer`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct InstanceQuery {
    /// The 12-character ID of the instance.
    #[param(example = "3EB0BCB2E3D4")]
    instance_id: String,
    /// Your API access token (or `Authorization: Bearer <token>`).
    access_token: Option<String>,
}

/// `access_token` alone.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TokenQuery {
    /// Your API access token (or `Authorization: Bearer <token>`).
    access_token: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "wawp: Wawp API v2", description = "Self-hosted WhatsApp HTTP API."),
    paths(
        session::create_session, session::start_session, session::stop_session, session::restart_session,
        session::logout_session, session::delete_session, session::session_info, session::about_whatsapp_data,
        auth::get_qr_raw, auth::get_qr_image, auth::request_code_phone_login,
        send::send_text_message, send::send_location, send::send_poll, send::send_contact_vcard,
        send::mark_message_s_as_seen, send::start_typing, send::stop_typing, send::reaction,
        send::send_poll_vote, send::send_list_message, send::send_event,
        send::send_image, send::send_pdf, send::send_voice, send::send_video, send::send_link_preview,
        media::convert_media, files::get_file,
        chats::chats_list_overview, chats::get_messages_in_chat, chats::mark_as_read, chats::get_chats_overview, chats::mark_chat_as_unread,
        chats::get_chat_picture, contacts::get_contact_profile_picture,
        messages::get_message_by_id, messages::edit_a_text_message, messages::delete_a_message,
        webhooks::list_webhooks, webhooks::replace_webhooks, webhooks::list_deliveries, webhooks::replay_events,
        events::event_stream, calls::reject_call,
        admin::list_tokens, admin::create_token, admin::revoke_token,
        health::health, health::ready, pending::pending_routes,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as served, with the pending routes in its description.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.description = Some(format!(
        "Self-hosted WhatsApp HTTP API implementing the Wawp API v2.\n\n\
         Parameters may come in the query string, a JSON, urlencoded or multipart body (body wins); \
         the access token preferably as `Authorization: Bearer <token>`. Answers are JSON, or XML / \
         plain text by `Accept`.\n\n## Not implemented yet\n\n{}",
        pending::as_markdown()
    ));
    doc
}
