use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use wawp_core::model::EventInfo;
use wawp_core::sessions::Outgoing;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EventLocationSpec {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EventSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Unix seconds (UTC).
    #[serde(rename = "startTime")]
    pub start_time: i64,
    /// Unix seconds (UTC), after `startTime`.
    #[serde(rename = "endTime", default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub location: Option<EventLocationSpec>,
    #[serde(rename = "extraGuestsAllowed", default)]
    pub extra_guests_allowed: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendEventParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    pub event: EventSpec,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendEventParams {
    // Wawp: the documents mark every event field required; the name and the start are what an
    // event cannot do without, the others default (no description, no end, no location, false).
    const REQUIRED: &'static [&'static str] = &[
        "instance_id",
        "access_token",
        "chatId",
        "event.name",
        "event.startTime",
    ];
}

/// Send Event
///
/// Sends a calendar event. Answers (RSVPs) arrive as `event.response` webhooks and in the stored
/// message's `event.responses`.
#[utoipa::path(post, path = "/v2/send/event", tag = "Send Messages", operation_id = "send_event",
    params(InstanceQuery), request_body(content = SendEventParams),
    responses((status = 200, description = "The sent message", body = MessageObject), CommonErrors))]
pub async fn send_event(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<SendEventParams>,
) -> ApiResult<Reply<MessageObject>> {
    let event = check(p.event)?;
    super::send_and_answer(
        &state,
        &session,
        &p.chat_id,
        Outgoing::Event(event),
        p.reply_to.as_deref(),
    )
    .await
}

/// Milliseconds are refused: a start after year 5000 is a `Date.now()` mistake.
const MAX_SECONDS: i64 = 95_617_584_000;

fn check(spec: EventSpec) -> Result<EventInfo, ApiError> {
    let name = spec.name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError::invalid(
            "event.name",
            "event.name must not be empty.",
        ));
    }
    if !(0..MAX_SECONDS).contains(&spec.start_time) {
        return Err(ApiError::invalid(
            "event.startTime",
            "event.startTime is a Unix time in seconds (not milliseconds).",
        ));
    }
    if let Some(end) = spec.end_time
        && end <= spec.start_time
    {
        return Err(ApiError::invalid(
            "event.endTime",
            "event.endTime must be after event.startTime.",
        ));
    }
    Ok(EventInfo {
        name,
        description: spec.description.filter(|d| !d.trim().is_empty()),
        start_time: Some(spec.start_time),
        end_time: spec.end_time,
        location: spec
            .location
            .map(|l| l.name.trim().to_string())
            .filter(|l| !l.is_empty()),
        extra_guests_allowed: spec.extra_guests_allowed,
        canceled: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(start: i64, end: Option<i64>) -> EventSpec {
        EventSpec {
            name: "Team Meeting".into(),
            description: None,
            start_time: start,
            end_time: end,
            location: Some(EventLocationSpec {
                name: "Room A".into(),
            }),
            extra_guests_allowed: true,
        }
    }

    #[test]
    fn events_end_after_they_start_and_use_seconds() {
        let ok = check(spec(1_735_920_000, Some(1_735_923_600))).expect("valid");
        assert_eq!(ok.location.as_deref(), Some("Room A"));
        assert!(check(spec(1_735_920_000, Some(1_735_920_000))).is_err());
        assert!(check(spec(1_735_920_000_000, None)).is_err());
    }
}
