//! Device certificates: the server's signed statement that a device key belongs to a current
//! member of one group. Peers check them with no server in reach (`docs/peer-sync.md`).
//!
//! A certificate is the CBOR encoding of [`DeviceCertificate`]; the server signs
//! `CERT_CONTEXT || body` with its Ed25519 key. The body travels as signed, so the checker
//! verifies the exact bytes and never has to re-encode anything.

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::{Error, Result};
use crate::evidence;
use crate::ids::DeviceId;
use crate::model::Timestamp;
use crate::sync::wire;

/// Prefixed to every certificate body before signing, so no other signature of the server
/// key can pass for a certificate.
const CERT_CONTEXT: &[u8] = b"siteproof-device-certificate-v1\n";

/// How long a certificate issued at enrollment is valid: a device that has not met the
/// server for longer than this can no longer prove its membership to peers.
pub const CERTIFICATE_VALIDITY_MS: i64 = 180 * 24 * 3600 * 1000;

/// What the server certifies about a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCertificate {
    /// Format version, 1.
    pub version: u32,
    /// The device's id on the server.
    pub device: DeviceId,
    /// The region of the device's group.
    pub region: String,
    /// The device's group.
    pub group: String,
    /// The device's Ed25519 public key (its evidence key).
    pub public_key: ByteBuf,
    /// Valid from, ms since the Unix epoch.
    pub not_before: Timestamp,
    /// Valid until (exclusive), ms since the Unix epoch.
    pub not_after: Timestamp,
}

impl DeviceCertificate {
    /// A version-1 certificate for `device` of `region`/`group` holding `public_key`, valid
    /// for [`CERTIFICATE_VALIDITY_MS`] from `issued_at`.
    pub fn new(
        device: DeviceId,
        region: &str,
        group: &str,
        public_key: [u8; 32],
        issued_at: Timestamp,
    ) -> Self {
        Self {
            version: 1,
            device,
            region: region.to_owned(),
            group: group.to_owned(),
            public_key: ByteBuf::from(public_key.to_vec()),
            not_before: issued_at,
            not_after: issued_at.saturating_add(CERTIFICATE_VALIDITY_MS),
        }
    }
}

/// A certificate as it travels and is stored: the signed body and the server's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCertificate {
    /// The CBOR encoding of a [`DeviceCertificate`].
    pub body: ByteBuf,
    /// Ed25519 signature by the server key over `CERT_CONTEXT || body`, 64 bytes.
    pub signature: ByteBuf,
}

impl SignedCertificate {
    /// The CBOR encoding (what enrollment hands over, hex-encoded).
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes [`SignedCertificate::to_bytes`]' output; nothing is checked yet.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        wire::decode(bytes)
    }

    /// The certificate, if the server's signature over it is valid. Validity dates, group and
    /// revocation are the caller's to check ([`SignedCertificate::check_peer`]).
    pub fn verify(&self, server_key: &[u8; 32]) -> Result<DeviceCertificate> {
        let signature: [u8; 64] = self
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| refused("certificate signature is not 64 bytes"))?;
        if !evidence::verify(server_key, &signed_bytes(&self.body), &signature) {
            return Err(refused("certificate is not signed by this group's server"));
        }
        let cert: DeviceCertificate = wire::decode(&self.body)?;
        if cert.version != 1 {
            return Err(refused("unknown certificate version"));
        }
        Ok(cert)
    }

    /// The certificate of a peer, if it may take part in a session with a device of
    /// `region`/`group` at time `now`: signed by the server, same group, valid now, not
    /// revoked in the list this device holds.
    pub fn check_peer(
        &self,
        server_key: &[u8; 32],
        region: &str,
        group: &str,
        now: Timestamp,
        revoked: &[DeviceId],
    ) -> Result<DeviceCertificate> {
        let cert = self.verify(server_key)?;
        if cert.region != region || cert.group != group {
            return Err(refused("the peer belongs to another group"));
        }
        if now < cert.not_before || now >= cert.not_after {
            return Err(refused(
                "the peer's certificate is expired or not yet valid",
            ));
        }
        if revoked.contains(&cert.device) {
            return Err(refused("the peer's device was revoked"));
        }
        Ok(cert)
    }
}

/// The server's certificate key: issues device certificates.
pub struct CertificateAuthority(SigningKey);

impl CertificateAuthority {
    /// The key from its 32-byte seed (kept in the server's storage).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The public key devices check certificates against.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs `cert`.
    pub fn issue(&self, cert: &DeviceCertificate) -> SignedCertificate {
        let body = wire::encode(cert);
        let signature = self.0.sign(&signed_bytes(&body));
        SignedCertificate {
            body: ByteBuf::from(body),
            signature: ByteBuf::from(signature.to_bytes().to_vec()),
        }
    }
}

fn signed_bytes(body: &[u8]) -> Vec<u8> {
    [CERT_CONTEXT, body].concat()
}

fn refused(reason: &str) -> Error {
    Error::PeerRefused(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(device: &str, group: &str) -> DeviceCertificate {
        DeviceCertificate {
            version: 1,
            device: device.parse().expect("id"),
            region: "hebei".into(),
            group: group.into(),
            public_key: ByteBuf::from(vec![7; 32]),
            not_before: 1_000,
            not_after: 2_000,
        }
    }

    #[test]
    fn a_certificate_passes_only_with_the_right_key_group_time_and_no_revocation() {
        let ca = CertificateAuthority::from_seed(&[1; 32]);
        let other = CertificateAuthority::from_seed(&[2; 32]);
        let signed = ca.issue(&cert("d1", "g1"));
        let key = ca.public_key();
        let ok = signed.check_peer(&key, "hebei", "g1", 1_500, &[]);
        assert_eq!(ok.expect("valid"), cert("d1", "g1"));
        for (result, why) in [
            (
                signed.check_peer(&other.public_key(), "hebei", "g1", 1_500, &[]),
                "server",
            ),
            (signed.check_peer(&key, "hebei", "g2", 1_500, &[]), "group"),
            (
                signed.check_peer(&key, "hebei", "g1", 2_000, &[]),
                "expired",
            ),
            (signed.check_peer(&key, "hebei", "g1", 999, &[]), "early"),
            (
                signed.check_peer(&key, "hebei", "g1", 1_500, &["d1".parse().expect("id")]),
                "revoked",
            ),
        ] {
            assert!(
                matches!(result, Err(Error::PeerRefused(_))),
                "{why}: {result:?}"
            );
        }
        let mut forged = signed.clone();
        forged.body = ByteBuf::from(wire::encode(&cert("d1", "g2")));
        assert!(forged.check_peer(&key, "hebei", "g2", 1_500, &[]).is_err());
        let round = SignedCertificate::from_bytes(&signed.to_bytes()).expect("decode");
        assert_eq!(round, signed);
    }
}
