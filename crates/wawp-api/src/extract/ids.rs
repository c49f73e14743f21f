//! Identifier newtypes parsed at the edge (API-CONVENTIONS.md "Identifiers"). [`ChatId`] accepts
//! `<digits>@c.us`, `@s.whatsapp.net`, `@lid`, `@g.us`, `@newsletter`, `status@broadcast` and a
//! bare phone number; phone numbers are checked against libphonenumber's metadata (the
//! `phonenumber` crate) and a bad one is `400 invalid_chat_id` with the documents' details.

use std::fmt;

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::error::{ApiError, Code};

/// A chat id, normalized: users always as `<digits>@c.us`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[schema(value_type = String, example = "201012345678@c.us")]
pub struct ChatId(String);

impl ChatId {
    pub fn parse(raw: &str) -> Result<ChatId, ApiError> {
        let raw = raw.trim();
        let Some((local, server)) = raw.rsplit_once('@') else {
            let digits = phone_digits(raw).ok_or_else(|| bad_format(raw))?;
            check_phone(&digits, raw).map_err(PhoneProblem::into_chat_id_error)?;
            return Ok(ChatId(format!("{digits}@c.us")));
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match server.to_ascii_lowercase().as_str() {
            "c.us" | "s.whatsapp.net" => {
                // A device suffix (`2010…:12@s.whatsapp.net`) names the same user.
                let user = local.split(':').next().unwrap_or(local);
                if !all_digits(user) {
                    return Err(bad_format(raw));
                }
                check_phone(user, raw).map_err(PhoneProblem::into_chat_id_error)?;
                Ok(ChatId(format!("{user}@c.us")))
            }
            "lid" if all_digits(local) => Ok(ChatId(format!("{local}@lid"))),
            "g.us"
                if !local.is_empty() && local.bytes().all(|b| b.is_ascii_digit() || b == b'-') =>
            {
                Ok(ChatId(format!("{local}@g.us")))
            }
            "newsletter" if all_digits(local) => Ok(ChatId(format!("{local}@newsletter"))),
            "broadcast" if local == "status" => Ok(ChatId("status@broadcast".into())),
            _ => Err(bad_format(raw)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_group(&self) -> bool {
        self.0.ends_with("@g.us")
    }
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Marks a deserialization error that is really an `invalid_chat_id` (see [`from_marker`]).
const MARKER: &str = "\u{1}wawp-api-error:";

impl<'de> Deserialize<'de> for ChatId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        ChatId::parse(&raw).map_err(|e| {
            let carried =
                json!({"code": e.code.as_str(), "message": e.message, "details": e.details});
            serde::de::Error::custom(format!("{MARKER}{carried}"))
        })
    }
}

/// Recovers an API error carried through serde by a newtype's `Deserialize` (serde errors can
/// only hold text).
pub(crate) fn from_marker(message: &str) -> Option<ApiError> {
    let carried: Value = serde_json::from_str(message.split_once(MARKER)?.1).ok()?;
    let code = match carried.get("code")?.as_str()? {
        "invalid_chat_id" => Code::InvalidChatId,
        _ => Code::InvalidParam,
    };
    let mut err = ApiError::new(code, carried.get("message")?.as_str()?.to_string());
    if let Some(Value::Object(details)) = carried.get("details") {
        err.details = details.clone();
    }
    Some(err)
}

fn bad_format(raw: &str) -> ApiError {
    ApiError::new(Code::InvalidChatId, "Invalid chat id format.")
        .with("provided", raw)
        .recommend("Use a phone number in international format (201012345678), or an id ending in @c.us, @g.us, @lid or @newsletter.")
}

/// `+20 114-520 2826` → `201145202826`; `None` when anything but digits and separators remain.
pub fn phone_digits(raw: &str) -> Option<String> {
    let digits: String = raw
        .trim()
        .trim_start_matches('+')
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Why a phone number cannot be valid, in the documents' words.
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneProblem {
    pub provided: String,
    pub message: String,
    pub recommendation: String,
    /// ISO 3166 code, or `Unknown`.
    pub country: String,
    /// libphonenumber's type of the number that was meant (`MOBILE`), when it can be told.
    pub kind: Option<&'static str>,
}

impl PhoneProblem {
    fn details(&self) -> Map<String, Value> {
        let mut info = Map::new();
        info.insert("country".into(), Value::String(self.country.clone()));
        if let Some(kind) = self.kind {
            info.insert("type".into(), Value::String(kind.into()));
        }
        let mut details = Map::new();
        details.insert("provided".into(), Value::String(self.provided.clone()));
        details.insert(
            "recommendation".into(),
            Value::String(self.recommendation.clone()),
        );
        details.insert("info".into(), Value::Object(info));
        details
    }

    pub fn into_chat_id_error(self) -> ApiError {
        let mut err = ApiError::new(Code::InvalidChatId, self.message.clone());
        err.details = self.details();
        err
    }

    /// The same facts as `400 invalid_param` for a parameter that is a phone number.
    pub fn into_param_error(self, param: &str) -> ApiError {
        let mut err = ApiError::new(Code::InvalidParam, self.message.clone());
        err.details = self.details();
        err.details
            .insert("param".into(), Value::String(param.into()));
        err
    }
}

/// Checks international-format digits (no `+`) against libphonenumber. `provided` is echoed.
pub fn check_phone(digits: &str, provided: &str) -> Result<(), PhoneProblem> {
    let unknown = || PhoneProblem {
        provided: provided.to_string(),
        message: "Invalid phone number format for Unknown.".into(),
        recommendation:
            "Ensure individual numbers are in international format (starting with country code)."
                .into(),
        country: "Unknown".into(),
        kind: None,
    };
    // A leading 0 is a national (trunk) prefix: no country code was given.
    if digits.starts_with('0') {
        return Err(unknown());
    }
    let Ok(number) = phonenumber::parse(None, format!("+{digits}")) else {
        return Err(unknown());
    };
    if number.is_valid() {
        return Ok(());
    }
    let code = number.code().value();
    let Some(region) = region_of(&number) else {
        return Err(unknown());
    };
    let national = number.national().to_string();
    let (name, adjective) = country_names(&region);
    let near = near_valid(code, &national);
    Err(match near {
        Some((kind, meant)) => {
            let national_len = meant
                .format()
                .mode(Mode::National)
                .to_string()
                .bytes()
                .filter(u8::is_ascii_digit)
                .count();
            let example = example_number(&region, code, kind);
            PhoneProblem {
                provided: provided.to_string(),
                message: format!(
                    "{name} {} numbers must be {national_len} digits (national format).",
                    type_word(kind)
                ),
                recommendation: format!(
                    "Example: {example} ({} digits total starting with {code})",
                    example.len()
                ),
                country: region,
                kind: Some(type_name(kind)),
            }
        }
        None => {
            let example = example_number(&region, code, Type::Mobile);
            let cc = code.to_string();
            let example_national = example.strip_prefix(&cc).unwrap_or(&example);
            let first = example_national.chars().next().unwrap_or('0');
            PhoneProblem {
                provided: provided.to_string(),
                message: format!("Invalid phone number format for {region}."),
                recommendation: format!(
                    "{adjective} numbers must start with {cc} followed by {first} and {} digits ({} digits total). Example: {example}",
                    example_national.len().saturating_sub(1),
                    example.len()
                ),
                country: region,
                kind: None,
            }
        }
    })
}

/// The ISO region of a number's country code (the main one when several share it).
fn region_of(number: &PhoneNumber) -> Option<String> {
    if let Some(id) = number.country().id() {
        return Some(id.as_ref().to_string());
    }
    let code = number.code().value();
    let metas = DATABASE.by_code(&code)?;
    let main = metas
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or(metas.first())?;
    let id = main.id();
    (id != "001").then(|| id.to_string())
}

/// A valid number one digit longer or shorter than the one given: tells what was meant.
fn near_valid(code: u16, national: &str) -> Option<(Type, PhoneNumber)> {
    let mut candidates: Vec<String> = (0..10).map(|d| format!("{national}{d}")).collect();
    if national.len() > 1 {
        candidates.push(national[..national.len() - 1].to_string());
    }
    candidates.into_iter().find_map(|cand| {
        let number = phonenumber::parse(None, format!("+{code}{cand}")).ok()?;
        if !number.is_valid() {
            return None;
        }
        let kind = number.number_type(&DATABASE);
        (kind != Type::Unknown).then_some((kind, number))
    })
}

/// International digits of an example number of `kind` in `region`. The documents' own examples
/// win over libphonenumber's (// Wawp: send/text `invalid_chat_id` examples).
fn example_number(region: &str, code: u16, kind: Type) -> String {
    match region {
        "EG" => return "201012345678".into(),
        "SA" => return "966501234567".into(),
        _ => {}
    }
    let example = DATABASE
        .by_id(region)
        .map(|m| m.descriptors())
        .and_then(|d| {
            d.get(kind)
                .or(d.mobile())
                .or(d.fixed_line())
                .and_then(|d| d.example())
                .map(str::to_string)
        });
    format!("{code}{}", example.unwrap_or_default())
}

fn type_name(kind: Type) -> &'static str {
    match kind {
        Type::FixedLine => "FIXED_LINE",
        Type::Mobile => "MOBILE",
        Type::FixedLineOrMobile => "FIXED_LINE_OR_MOBILE",
        Type::TollFree => "TOLL_FREE",
        Type::PremiumRate => "PREMIUM_RATE",
        Type::SharedCost => "SHARED_COST",
        Type::PersonalNumber => "PERSONAL_NUMBER",
        Type::Voip => "VOIP",
        Type::Pager => "PAGER",
        Type::Uan => "UAN",
        Type::Voicemail => "VOICEMAIL",
        _ => "UNKNOWN",
    }
}

fn type_word(kind: Type) -> &'static str {
    match kind {
        Type::Mobile => "mobile",
        Type::FixedLine => "landline",
        Type::FixedLineOrMobile => "phone",
        Type::TollFree => "toll-free",
        _ => "phone",
    }
}

/// (name, adjective) for the countries users most often write; the ISO code otherwise.
fn country_names(region: &str) -> (String, String) {
    let known: &[(&str, &str, &str)] = &[
        ("EG", "Egypt", "Egyptian"),
        ("SA", "Saudi Arabia", "Saudi"),
        ("AE", "UAE", "UAE"),
        ("KW", "Kuwait", "Kuwaiti"),
        ("QA", "Qatar", "Qatari"),
        ("BH", "Bahrain", "Bahraini"),
        ("OM", "Oman", "Omani"),
        ("JO", "Jordan", "Jordanian"),
        ("MA", "Morocco", "Moroccan"),
        ("DZ", "Algeria", "Algerian"),
        ("TN", "Tunisia", "Tunisian"),
        ("IQ", "Iraq", "Iraqi"),
        ("TR", "Turkey", "Turkish"),
        ("GB", "United Kingdom", "UK"),
        ("US", "United States", "US"),
        ("IN", "India", "Indian"),
        ("PK", "Pakistan", "Pakistani"),
        ("BR", "Brazil", "Brazilian"),
        ("DE", "Germany", "German"),
        ("FR", "France", "French"),
    ];
    known
        .iter()
        .find(|(id, _, _)| *id == region)
        .map(|(_, n, a)| (n.to_string(), a.to_string()))
        .unwrap_or_else(|| (region.to_string(), region.to_string()))
}

#[cfg(test)]
#[path = "ids_tests.rs"]
mod tests;
