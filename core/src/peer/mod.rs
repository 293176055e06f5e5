//! Peer sync: two devices of one group merge their records directly, with no server in
//! reach (`docs/peer-sync.md` is the contract).
//!
//! - [`authors`]: which device wrote a change (its actor), to refuse revoked authors.
//! - [`certificate`]: the server-signed device certificates both sides check offline.
//! - [`PeerSession`]: the sans-IO session (Noise `XX` channel, mutual authentication, record
//!   exchange); any transport carries its bytes.
//! - [`media`]: thumbnails and requested originals after the records, resumable, verified.
//! - [`run_over_stream`]: the session over a TCP stream (or any `Read + Write` pair).

pub mod authors;
pub mod certificate;
mod channel;
pub mod media;
mod session;
mod stream;

pub use certificate::{CertificateAuthority, DeviceCertificate, SignedCertificate};
pub use channel::NOISE_PARAMS;
pub use media::Originals;
pub use session::{PeerSession, PeerSummary};
pub use stream::run_over_stream;
