//! Who is calling: a [`Principal`], a device or a signed-in web user. The web layer resolves
//! it from a request (`crate::caller`): the `Authorization: Bearer` header (a device) or,
//! without one, the session cookie (a web user).

use axum::http::header::COOKIE;

use super::users::WebUser;
use super::visibility::Visibility;
use crate::error::Error;
use crate::storage::DeviceRecord;

/// The name of the back office's session cookie.
pub const SESSION_COOKIE: &str = "sp_session";

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An enrolled, unrevoked device, writing for its group.
    Device(DeviceRecord),
    /// A signed-in back-office user, reading its region (and role's sectors).
    User(Box<WebUser>),
}

impl Principal {
    /// Who this is in the custody log: `device:<id>` or `user:<login>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Device(d) => format!("device:{}", d.id),
            Principal::User(u) => format!("user:{}", u.login),
        }
    }

    /// The device, or 401 for principals that are not devices.
    pub fn device(&self) -> Result<&DeviceRecord, Error> {
        match self {
            Principal::Device(d) => Ok(d),
            Principal::User(_) => Err(Error::Unauthorized(
                "this endpoint is for devices: send the device token as Authorization: Bearer <token>",
            )),
        }
    }

    /// The caller's visibility policy.
    pub fn visibility(&self) -> Visibility {
        Visibility::of(self)
    }
}

/// The value of a cookie in the request's `Cookie` headers.
pub fn cookie<'a>(parts: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    parts
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}
