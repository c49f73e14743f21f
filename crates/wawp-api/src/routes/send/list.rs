use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use wawp_core::model::{List, ListRow, ListSection};
use wawp_core::sessions::Outgoing;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

/// WhatsApp shows at most 10 rows per list, across sections.
const MAX_ROWS: usize = 10;
/// The button text is at most 20 characters.
const MAX_BUTTON: usize = 20;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListRowSpec {
    pub title: String,
    #[serde(rename = "rowId")]
    pub row_id: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListSectionSpec {
    pub title: String,
    pub rows: Vec<ListRowSpec>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListSpec {
    /// Header title.
    pub title: String,
    /// Body text.
    pub description: String,
    /// Small text at the bottom.
    #[serde(default)]
    pub footer: String,
    /// Text of the button that opens the list (at most 20 characters).
    pub button: String,
    pub sections: Vec<ListSectionSpec>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendListParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    pub message: ListSpec,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendListParams {
    const REQUIRED: &'static [&'static str] = &[
        "instance_id",
        "access_token",
        "chatId",
        "message",
        "message.title",
        "message.description",
        "message.button",
        "message.sections",
    ];
}

/// Send List Message
///
/// Sends a list menu: a button that opens sections of rows (at most 10 rows in all).
#[utoipa::path(method(post, get), path = "/v2/send/list", tag = "Send Messages", operation_id = "send_list_message",
    params(InstanceQuery), request_body(content = SendListParams),
    responses((status = 200, description = "The sent message", body = MessageObject), CommonErrors))]
pub async fn send_list_message(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<SendListParams>,
) -> ApiResult<Reply<MessageObject>> {
    let list = check(p.message)?;
    super::send_and_answer(
        &state,
        &session,
        &p.chat_id,
        Outgoing::List(list),
        p.reply_to.as_deref(),
    )
    .await
}

fn check(spec: ListSpec) -> Result<List, ApiError> {
    let text = |name: &str, v: &str| -> Result<String, ApiError> {
        let v = v.trim();
        if v.is_empty() {
            return Err(ApiError::invalid(
                name,
                format!("{name} must not be empty."),
            ));
        }
        Ok(v.to_string())
    };
    let button = text("message.button", &spec.button)?;
    if button.chars().count() > MAX_BUTTON {
        return Err(ApiError::invalid(
            "message.button",
            "message.button is at most 20 characters.",
        ));
    }
    let mut rows_total = 0;
    let mut row_ids = std::collections::HashSet::new();
    let mut sections = Vec::with_capacity(spec.sections.len());
    for (i, s) in spec.sections.into_iter().enumerate() {
        if s.rows.is_empty() {
            return Err(ApiError::invalid(
                "message.sections",
                format!("section {i} has no rows; every section needs at least one."),
            ));
        }
        rows_total += s.rows.len();
        let mut rows = Vec::with_capacity(s.rows.len());
        for r in s.rows {
            let row_id = text("message.sections.rows.rowId", &r.row_id)?;
            if !row_ids.insert(row_id.clone()) {
                return Err(ApiError::invalid(
                    "message.sections",
                    format!("rowId {row_id:?} is used twice; row ids must be unique."),
                ));
            }
            rows.push(ListRow {
                title: text("message.sections.rows.title", &r.title)?,
                row_id,
                description: r.description.filter(|d| !d.trim().is_empty()),
            });
        }
        sections.push(ListSection {
            title: s.title.trim().to_string(),
            rows,
        });
    }
    if sections.is_empty() || rows_total > MAX_ROWS {
        return Err(ApiError::invalid(
            "message.sections",
            "a list has 1 to 10 rows in all.",
        ));
    }
    Ok(List {
        title: text("message.title", &spec.title)?,
        description: text("message.description", &spec.description)?,
        footer: spec.footer.trim().to_string(),
        button,
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rows: usize, button: &str) -> ListSpec {
        ListSpec {
            title: "Menu".into(),
            description: "Pick".into(),
            footer: String::new(),
            button: button.into(),
            sections: vec![ListSectionSpec {
                title: "Main".into(),
                rows: (0..rows)
                    .map(|i| ListRowSpec {
                        title: format!("Row {i}"),
                        row_id: format!("r{i}"),
                        description: None,
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn lists_have_one_to_ten_rows_and_a_short_button() {
        assert!(check(spec(1, "Open")).is_ok());
        assert!(check(spec(10, "Open")).is_ok());
        assert!(check(spec(0, "Open")).is_err());
        assert!(check(spec(11, "Open")).is_err());
        assert!(check(spec(2, "a button text far too long")).is_err());
    }
}
