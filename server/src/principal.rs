//! Who is calling: a [`Principal`], resolved from the `Authorization: Bearer` header. Devices
//! are the only principals today; back-office users with roles join as another variant.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::{AppError, Error};
use crate::storage::DeviceRecord;

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An enrolled, unrevoked device, writing for its group.
    Device(DeviceRecord),
    // Back-office users (`User { id, roles }`) come here; handlers that only serve devices
    // already go through `Principal::device`.
}

impl Principal {
    /// The device, or 401 for principals that are not devices.
    pub fn device(&self) -> Result<&DeviceRecord, Error> {
        match self {
            Principal::Device(d) => Ok(d),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(Error::Unauthorized(
            "send the device token as Authorization: Bearer <token>",
        ))?;
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
