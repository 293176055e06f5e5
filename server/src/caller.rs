//! The web layer's extractor of the caller: a [`Principal`] from the `Authorization: Bearer`
//! header (a device, checked by the device registry) or, without one, from the session
//! cookie (a web user, checked by the sessions). It sits above the identity layer because it
//! asks the services of [`AppState`].

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::{AppError, Error};
use crate::identity::{Principal, SESSION_COOKIE, cookie};

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            if let Some(session) = cookie(&parts.headers, SESSION_COOKIE)
                && let Some(user) = state.sessions.session(session).await?
            {
                return Ok(Principal::User(Box::new(user)));
            }
            return Err(Error::Unauthorized(
                "send the device token as Authorization: Bearer <token>",
            )
            .into());
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
        Ok(state.devices.authenticate(token).await?)
    }
}
