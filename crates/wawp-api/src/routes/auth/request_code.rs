use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::ids::{check_phone, phone_digits};
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestCodeParams {
    /// The phone number to link, international format, digits with an optional `+`
    /// (e.g. `201145202826`).
    #[schema(example = "201145202826")]
    pub phone_number: String,
}

impl Required for RequestCodeParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "phone_number"];
}

/// A pairing code to type on the phone (Linked devices → Link with phone number).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "ABCD-1234"}))]
pub struct PairingCode {
    pub code: String,
}

/// Request Code (Phone Login)
///
/// Asks WhatsApp for a pairing code for `phone_number`, to link without scanning a QR.
#[utoipa::path(post, path = "/v2/auth/request-code", tag = "Authentication - Login", operation_id = "request_code_phone_login",
    params(InstanceQuery, ("phone_number" = String, Query, description = "Phone number to link, e.g. 201145202826")),
    request_body(content = RequestCodeParams),
    responses((status = 200, description = "Pairing code", body = PairingCode), CommonErrors))]
pub async fn request_code_phone_login(
    State(state): State<AppState>,
    Params(p): Params<RequestCodeParams>,
    session: SessionRef,
) -> ApiResult<Reply<PairingCode>> {
    let digits = phone_digits(&p.phone_number).ok_or_else(|| {
        ApiError::invalid(
            "phone_number",
            "phone_number must be digits in international format, optionally with a leading +.",
        )
        .with("provided", p.phone_number.clone())
    })?;
    check_phone(&digits, &p.phone_number)
        .map_err(|problem| problem.into_param_error("phone_number"))?;
    let code = state
        .core
        .sessions()
        .request_code(&session.id, &digits)
        .await?;
    Ok(Reply(PairingCode { code }))
}
