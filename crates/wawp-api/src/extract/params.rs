//! [`Params<T>`]: the route's parameters, typed. First every name in [`Required::REQUIRED`] is
//! checked against the merged parameters and **all** missing ones are reported in one
//! `400 missing_param`; then `T` is deserialized with form coercion (`coerce.rs`); a value of the
//! wrong shape is `400 invalid_param` naming the parameter.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::auth::bearer;
use crate::extract::raw::RawParams;
use crate::extract::{coerce, ids};

/// The spec's required parameter names of a parameter struct, in the spec's order, exactly as
/// the documents spell them (`chatId`, `file[url]`, `message.title`).
pub trait Required {
    const REQUIRED: &'static [&'static str];
}

/// Typed parameters (extractor).
#[derive(Debug)]
pub struct Params<T>(pub T);

/// The names of `names` that the request lacks. `access_token` is also satisfied by an
/// `Authorization: Bearer` header.
pub(crate) fn missing_names(parts: &Parts, raw: &RawParams, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter(|name| {
            !(raw.is_present(name) || (**name == "access_token" && bearer(parts).is_some()))
        })
        .map(|name| name.to_string())
        .collect()
}

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: Required + DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = RawParams::from_request_parts(parts, state).await?;
        let missing = missing_names(parts, &raw, T::REQUIRED);
        if !missing.is_empty() {
            return Err(ApiError::missing(&missing));
        }
        typed(raw).map(Params)
    }
}

/// The merged parameters as `T` (form coercion); a value of the wrong shape is
/// `400 invalid_param` naming the parameter.
pub(crate) fn typed<T: DeserializeOwned>(raw: RawParams) -> Result<T, ApiError> {
    let value = Value::Object(raw.value);
    coerce::from_value::<T>(value).map_err(|e| {
        if let Some(carried) = ids::from_marker(&e.message) {
            return carried;
        }
        let param = if e.path.is_empty() {
            "body".to_string()
        } else {
            e.path()
        };
        ApiError::invalid(
            &param,
            format!("Invalid value for '{param}': {}", e.message),
        )
    })
}
