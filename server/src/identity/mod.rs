//! Identity and security, the layer below every feature: who is calling ([`Principal`],
//! resolved by the web layer in `crate::caller`), web users and their roles ([`users`]), sessions
//! and logins ([`Sessions`]), login limits ([`login_guard`]) and bounded password checks
//! ([`PasswordChecker`]), throttling ([`rate_limit`]), the client's address
//! ([`ClientAddr`]), the headers every response carries ([`headers`]) and the one
//! visibility policy ([`visibility`]).
//!
//! Nothing here imports a feature (sync, tus, evidence, the back office) or the composition
//! root: features build on this layer, never the other way round (`tests/layers.rs`).

mod client;
pub mod headers;
pub mod login_guard;
mod passwords;
mod principal;
pub mod rate_limit;
mod sessions;
pub mod users;
pub mod visibility;

pub use client::{ClientAddr, ProxyNet, TrustedProxies};
pub use login_guard::{LoginGuard, LoginLimits};
pub use passwords::{DEFAULT_CHECKS, PasswordChecker};
pub use principal::{Principal, SESSION_COOKIE, cookie};
pub use sessions::{SessionConfig, Sessions};
pub use users::{NewUser, Role, WebUser, csrf_ok};
