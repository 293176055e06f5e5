//! The web layer's extractors of the caller: a [`Principal`] from the `Authorization: Bearer`
//! header (a device, checked by the device registry) or, without one, from the session
//! cookie (a web user, checked by the sessions); and for a sync, a [`DeviceSession`] (the
//! device with its group's revoked devices, one storage call). It sits above the identity layer because it
//! asks the services of [`AppState`].

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::{AppError, Error};
use crate::identity::{Principal, SESSION_COOKIE, cookie};
use crate::storage::DeviceSession;

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match bearer_token(parts)? {
            Some(token) => Ok(state.devices.authenticate(token).await?),
            None => signed_in(parts, state).await,
        }
    }
}

/// The caller of `POST /v1/sync`: a device with its group's revoked devices, read together
/// on every request (`Devices::session`); refused as [`Principal`] and
/// [`Principal::device`] refuse.
impl FromRequestParts<AppState> for DeviceSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match bearer_token(parts)? {
            Some(token) => Ok(state.devices.session(token).await?),
            // A signed-in web user is not a device: refused as `Principal::device` refuses.
            None => {
                let principal = signed_in(parts, state).await?;
                let refusal = principal.device().err().unwrap_or(Error::Unauthorized(
                    "send the device token as Authorization: Bearer <token>",
                ));
                Err(refusal.into())
            }
        }
    }
}

/// The token of the `Authorization: Bearer` header; `None` without the header.
fn bearer_token(parts: &Parts) -> Result<Option<&str>, AppError> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Error::Unauthorized(
            "the Authorization header must be: Bearer <token>",
        ))?;
    Ok(Some(token))
}

/// The web user of the session cookie, for a request without a device token.
async fn signed_in(parts: &Parts, state: &AppState) -> Result<Principal, AppError> {
    if let Some(session) = cookie(&parts.headers, SESSION_COOKIE)
        && let Some(user) = state.sessions.session(session).await?
    {
        return Ok(Principal::User(Box::new(user)));
    }
    Err(Error::Unauthorized("send the device token as Authorization: Bearer <token>").into())
}
