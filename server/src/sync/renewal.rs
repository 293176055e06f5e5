//! Certificate renewal at sync: a device whose enrollment certificate nears its end gets a
//! fresh one with each sync response (`docs/peer-sync.md`, section 1).

use serde_bytes::ByteBuf;
use siteproof_core::model::now;
use siteproof_core::peer::certificate::CERTIFICATE_VALIDITY_MS;
use siteproof_core::peer::{CertificateAuthority, DeviceCertificate};

use crate::error::Result;
use crate::storage::{DeviceRecord, SyncStorage};

/// How long before its end a certificate is renewed at sync: 30 days.
const RENEW_BEFORE_MS: i64 = 30 * 24 * 3600 * 1000;

/// A fresh certificate for a device whose enrollment certificate is in its last
/// [`RENEW_BEFORE_MS`] (or over): from then on every sync brings one, valid from now, so a
/// device that syncs keeps proving membership to peers without enrolling again. `None` before
/// that, and for a device that sent no public key at enrollment.
pub(super) async fn renewed_certificate(
    storage: &dyn SyncStorage,
    device: &DeviceRecord,
) -> Result<Option<ByteBuf>> {
    if now() < device.enrolled_at + CERTIFICATE_VALIDITY_MS - RENEW_BEFORE_MS {
        return Ok(None);
    }
    let Some(key) = storage.device_public_key(&device.id).await? else {
        return Ok(None);
    };
    let ca = CertificateAuthority::from_seed(&storage.certificate_key_seed().await?);
    let cert = DeviceCertificate::new(
        device.id.clone(),
        &device.scope.region,
        &device.scope.group,
        key,
        now(),
    );
    Ok(Some(ByteBuf::from(ca.issue(&cert).to_bytes())))
}
