use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::broadcast;
use utoipa::ToSchema;
use wawp_core::events::{EventRow, Events};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::routes::webhooks::list_param;
use crate::state::AppState;

/// Events read from the outbox per query.
const PAGE: i64 = 200;
/// A comment line every so often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize, ToSchema)]
pub struct EventStreamParams {
    /// Event names to receive (array or comma-separated); every event when absent or `*`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Option<Value>,
    /// Resume after this event id (same as the `Last-Event-ID` header, which wins).
    #[serde(default, rename = "lastEventId")]
    pub last_event_id: Option<String>,
}

impl Required for EventStreamParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token"];
}

/// Event stream (SSE)
///
/// `text/event-stream` of the instance's events, each `data:` line one webhook envelope and its
/// `id:` the event id. After a disconnect, `Last-Event-ID` (or `lastEventId`) resumes after that
/// event from the outbox (events are kept 7 days by default); without it the stream starts with
/// new events. Keep-alive comments every 15 s. Since browsers' `EventSource` cannot send headers,
/// the token may come as `access_token` in the query. A wawp extension.
#[utoipa::path(get, path = "/v2/events", tag = "Webhooks", operation_id = "event_stream",
    params(InstanceQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    request_body(content = EventStreamParams),
    responses((status = 200, description = "Server-Sent Events; each data line is an event envelope",
        content_type = "text/event-stream", body = String), CommonErrors))]
pub async fn event_stream(
    State(state): State<AppState>,
    session: SessionRef,
    headers: HeaderMap,
    Params(p): Params<EventStreamParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let names: Vec<String> = list_param("events", p.events.unwrap_or(Value::Null))?
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            _ => Err(ApiError::invalid("events", "events must be event names")),
        })
        .collect::<Result<_, _>>()?;
    let filter = (!names.iter().any(|n| n == "*"))
        .then_some(names)
        .filter(|n| !n.is_empty());
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(p.last_event_id)
        .filter(|s| !s.is_empty());
    let events = state.core.events().clone();
    let instance = session.id.as_str().to_string();
    // Subscribe before reading the resume point, so no commit falls between the two.
    let live = events.subscribe();
    let seq = events.resume_point(&instance, last.as_deref()).await?;
    let cursor = Cursor {
        events,
        instance: Arc::from(instance),
        seq,
        filter,
        buffer: VecDeque::new(),
        live,
    };
    let stream = futures::stream::unfold(cursor, |mut c| async move {
        let event = c.next().await?;
        Some((Ok(event), c))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Where a stream is in the instance's outbox.
struct Cursor {
    events: Events,
    instance: Arc<str>,
    seq: i64,
    filter: Option<Vec<String>>,
    buffer: VecDeque<EventRow>,
    live: broadcast::Receiver<Arc<str>>,
}

impl Cursor {
    /// The next event to send; `None` ends the stream (the server is shutting down:
    /// `Events::close_streams`, or the store failed).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.events.streams_are_closed() {
                return None;
            }
            while let Some(row) = self.buffer.pop_front() {
                self.seq = row.seq;
                if self.filter.as_ref().is_none_or(|f| f.contains(&row.name)) {
                    return Some(Event::default().id(row.event_id).data(row.envelope));
                }
            }
            match self
                .events
                .events_after(&self.instance, self.seq, PAGE)
                .await
            {
                Ok(rows) if !rows.is_empty() => {
                    self.buffer.extend(rows);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: reading the outbox failed");
                    return None;
                }
            }
            self.wait().await?;
        }
    }

    /// Until this instance commits something (or the poll interval passes, as a safety net).
    async fn wait(&mut self) -> Option<()> {
        let poll = self.events.config().poll_interval;
        let deadline = tokio::time::sleep(poll);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return Some(()),
                () = self.events.streams_closed() => return None,
                got = self.live.recv() => match got {
                    Ok(id) if *id == *self.instance => return Some(()),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return Some(()),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }
}
