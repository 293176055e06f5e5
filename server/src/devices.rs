//! Enrollment and authentication of devices: a one-time code becomes a device with a bearer
//! token (shown once, stored as SHA-256); the token then names the device on every request.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use siteproof_core::peer::{CertificateAuthority, DeviceCertificate};
use siteproof_core::{DeviceId, model::now};

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::identity::rate_limit::{Throttle, UNKNOWN_ADDRESS};
use crate::secret;
use crate::storage::{DeviceRecord, DeviceSession, NewDevice, SyncStorage};

/// The body of `POST /v1/enroll`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time code from `siteproof admin enroll-code`.
    pub code: String,
    /// A name for the device, shown in `siteproof admin device list`.
    pub device_name: String,
    /// The device's Ed25519 public key for signed evidence, 64 hex digits (optional: a
    /// client without one uploads evidence the server keeps as unverified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// The answer to a successful enrollment. The token is never shown again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrollResponse {
    /// The device's id.
    #[schema(value_type = String)]
    pub device_id: DeviceId,
    /// Its bearer token (64 hex digits).
    pub token: String,
    /// The region it captures for: the `region` of its records' scope.
    pub region: String,
    /// The group it captures for: the `group` of its records' scope.
    pub group: String,
    /// The server's epoch.
    pub epoch: String,
    /// The device certificate for peer sync (hex of its CBOR), when the request carried a
    /// public key: `docs/peer-sync.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The server's certificate key (64 hex digits), which peers check certificates against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<String>,
}

/// A public key as the enroll request sends it: 64 hex digits of a usable Ed25519 key.
fn parse_public_key(hex_key: &str) -> Result<[u8; 32]> {
    hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .filter(siteproof_core::evidence::is_public_key)
        .ok_or_else(|| {
            Error::InvalidInput("public_key must be 64 hex digits of an Ed25519 key".into())
        })
}

/// The longest device name accepted, in characters.
const MAX_NAME_CHARS: usize = 100;

/// Refused enrollments allowed per client address per [`ENROLL_WINDOW`]: a code has 60 bits,
/// so guessing is hopeless anyway; this keeps a client from hammering the database.
pub const ENROLL_FAILURES_PER_ADDRESS: u32 = 20;
/// The window of [`ENROLL_FAILURES_PER_ADDRESS`].
pub const ENROLL_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Enrolls and authenticates devices.
pub struct DeviceRegistry {
    storage: Arc<dyn SyncStorage>,
    /// Refused enrollments per client address.
    throttle: Throttle,
}

impl DeviceRegistry {
    /// A registry over `storage`.
    pub fn new(storage: Arc<dyn SyncStorage>) -> Self {
        Self {
            throttle: Throttle::new(
                "enroll",
                ENROLL_WINDOW,
                ENROLL_FAILURES_PER_ADDRESS,
                storage.rate_store(),
            ),
            storage,
        }
    }

    /// Redeems a one-time code. Unknown, used and expired codes are all refused alike.
    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        self.enroll_from(req, UNKNOWN_ADDRESS).await
    }

    /// [`DeviceRegistry::enroll`] for a client at `address` (an IP address, or
    /// `"unknown"`): past [`ENROLL_FAILURES_PER_ADDRESS`] refusals in [`ENROLL_WINDOW`] it is
    /// turned away before the code is looked at.
    pub async fn enroll_from(&self, req: &EnrollRequest, address: &str) -> Result<EnrollResponse> {
        if !self.throttle.allows(address).await? {
            return Err(Error::TooManyAttempts);
        }
        let result = self.redeem(req).await;
        if matches!(result, Err(Error::EnrollmentRefused)) {
            self.throttle.failed(address).await?;
        }
        result
    }

    async fn redeem(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        let name = req.device_name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(Error::InvalidInput(format!(
                "device_name must be 1 to {MAX_NAME_CHARS} printable characters"
            )));
        }
        let public_key = req
            .public_key
            .as_deref()
            .map(parse_public_key)
            .transpose()?;
        let token = secret::new_token();
        let device = NewDevice {
            id: DeviceId::random(),
            name: name.to_string(),
            token_hash: secret::token_hash(&token),
            enrolled_at: now(),
            public_key,
        };
        let code_hash = secret::enrollment_code_hash(&req.code);
        let enrolled = self
            .storage
            .redeem_enrollment_code(&code_hash, device.enrolled_at, &device)
            .await?
            .ok_or(Error::EnrollmentRefused)?;
        tracing::info!(device = %enrolled.id, group = %enrolled.scope.group, "device enrolled");
        let (certificate, server_key) = match public_key {
            Some(key) => {
                let ca =
                    CertificateAuthority::from_seed(&self.storage.certificate_key_seed().await?);
                let cert = DeviceCertificate::new(
                    enrolled.id.clone(),
                    &enrolled.scope.region,
                    &enrolled.scope.group,
                    key,
                    device.enrolled_at,
                );
                (
                    Some(hex::encode(ca.issue(&cert).to_bytes())),
                    Some(hex::encode(ca.public_key())),
                )
            }
            None => (None, None),
        };
        Ok(EnrollResponse {
            device_id: enrolled.id,
            token,
            region: enrolled.scope.region,
            group: enrolled.scope.group,
            epoch: self.storage.epoch().await?,
            certificate,
            server_key,
        })
    }

    /// The principal holding `token`; unknown and revoked tokens are refused alike.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let device = self
            .storage
            .device_by_token(&secret::token_hash(token))
            .await?;
        admitted(device).map(Principal::Device)
    }

    /// The device holding `token` with the revoked devices of its group, what a sync needs
    /// of its caller, read together from storage on every call (nothing is kept between
    /// requests: a device revoked by any process is refused by every process at once).
    /// Refused as [`authenticate`](Self::authenticate) refuses.
    pub async fn session(&self, token: &str) -> Result<DeviceSession> {
        let found = self
            .storage
            .device_session(&secret::token_hash(token))
            .await?;
        let (device, revoked) = match found {
            Some(DeviceSession { device, revoked }) => (Some(device), revoked),
            None => (None, Vec::new()),
        };
        Ok(DeviceSession {
            device: admitted(device)?,
            revoked,
        })
    }
}

/// A device found by its token, if it may call: unknown and revoked tokens are refused alike.
fn admitted(device: Option<DeviceRecord>) -> Result<DeviceRecord> {
    match device {
        Some(device) if device.revoked_at.is_none() => Ok(device),
        _ => Err(Error::Unauthorized(
            "the token is unknown or its device was revoked",
        )),
    }
}
