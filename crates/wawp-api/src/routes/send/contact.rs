use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use wawp_core::sessions::Outgoing;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

/// One contact card: give a ready `vcard`, or the fields to build one from.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactCard {
    #[serde(rename = "fullName", default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub organization: Option<String>,
    /// `+201111111111`
    #[serde(rename = "phoneNumber", default)]
    pub phone_number: Option<String>,
    /// Digits of the contact's WhatsApp number (makes "Message" work on the card).
    #[serde(rename = "whatsappId", default)]
    pub whatsapp_id: Option<String>,
    /// A complete vCard, used as is.
    #[serde(default)]
    pub vcard: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendContactParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    pub contacts: Vec<ContactCard>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendContactParams {
    const REQUIRED: &'static [&'static str] =
        &["instance_id", "access_token", "chatId", "contacts"];
}

/// Send Contact Vcard
///
/// Sends one or more contact cards (vCard 3.0).
#[utoipa::path(post, path = "/v2/send/contact", tag = "Send Messages", operation_id = "send_contact_vcard",
    params(InstanceQuery), request_body(content = SendContactParams),
    responses((status = 200, description = "The sent message", body = MessageObject), CommonErrors))]
pub async fn send_contact_vcard(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<SendContactParams>,
) -> ApiResult<Reply<MessageObject>> {
    if p.contacts.is_empty() {
        return Err(ApiError::invalid(
            "contacts",
            "contacts must hold at least one contact.",
        ));
    }
    let cards = p.contacts.iter().map(card).collect::<Result<Vec<_>, _>>()?;
    super::send_and_answer(
        &state,
        &session,
        &p.chat_id,
        Outgoing::Contacts(cards),
        p.reply_to.as_deref(),
    )
    .await
}

/// (display name, vCard) of one card.
fn card(c: &ContactCard) -> Result<(String, String), ApiError> {
    if let Some(vcard) = c.vcard.as_deref().filter(|v| v.contains("BEGIN:VCARD")) {
        let name = c
            .full_name
            .clone()
            .or_else(|| field(vcard, "FN"))
            .unwrap_or_default();
        return Ok((name, vcard.to_string()));
    }
    let name = c
        .full_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| {
        ApiError::invalid("contacts", "each contact needs fullName (or a vcard).")
    })?;
    let phone = c
        .phone_number
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let phone = phone.ok_or_else(|| {
        ApiError::invalid("contacts", "each contact needs phoneNumber (or a vcard).")
    })?;
    let wa_id = c
        .whatsapp_id
        .clone()
        .unwrap_or_else(|| phone.chars().filter(char::is_ascii_digit).collect());
    let mut v = format!("BEGIN:VCARD\nVERSION:3.0\nFN:{}\n", escape(name));
    if let Some(org) = c.organization.as_deref().filter(|o| !o.is_empty()) {
        v.push_str(&format!("ORG:{};\n", escape(org)));
    }
    v.push_str(&format!(
        "TEL;type=CELL;type=VOICE;waid={wa_id}:{}\nEND:VCARD",
        escape(phone)
    ));
    Ok((name.to_string(), v))
}

/// vCard text escaping (RFC 6350 §3.4).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace('\n', "\\n")
}

fn field(vcard: &str, name: &str) -> Option<String> {
    vcard
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_built_from_fields_or_taken_as_given() {
        let c = ContactCard {
            full_name: Some("Wawp Support".into()),
            organization: Some("Wawp HQ".into()),
            phone_number: Some("+201111111111".into()),
            whatsapp_id: None,
            vcard: None,
        };
        let (name, v) = card(&c).expect("card");
        assert_eq!(name, "Wawp Support");
        assert!(
            v.contains("FN:Wawp Support")
                && v.contains("ORG:Wawp HQ;")
                && v.contains("waid=201111111111:+201111111111")
        );
        let given = ContactCard {
            vcard: Some("BEGIN:VCARD\nFN:Ann\nEND:VCARD".into()),
            full_name: None,
            organization: None,
            phone_number: None,
            whatsapp_id: None,
        };
        assert_eq!(card(&given).expect("card").0, "Ann");
        let empty = ContactCard {
            vcard: None,
            full_name: None,
            organization: None,
            phone_number: None,
            whatsapp_id: None,
        };
        assert!(card(&empty).is_err());
    }
}
