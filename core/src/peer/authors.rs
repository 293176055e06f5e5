//! Who wrote a change. Once enrolled, a device writes with the Automerge actor made of the 16
//! bytes of its device id (a UUID), so anyone holding a change can name the device that wrote
//! it without asking the server; both the peer path and the server refuse changes whose
//! author is a revoked device. Changes are not signed: this names an honest device's changes,
//! it does not stop a member from writing under another id (the certificate check keeps
//! non-members out of the session).

use automerge::{ActorId, Change};

use crate::ids::DeviceId;

/// The actor device `device` writes with once enrolled; `None` for an id that is not a UUID
/// (such a device keeps the random actor its store was made with).
pub fn device_actor(device: &DeviceId) -> Option<ActorId> {
    uuid::Uuid::parse_str(device.as_str())
        .ok()
        .map(|u| ActorId::from(u.as_bytes().as_slice()))
}

/// The device whose actor is `actor`; `None` for actors of no device (a store's random actor
/// from before its enrollment, or the server's).
pub fn author_of(actor: &ActorId) -> Option<DeviceId> {
    uuid::Uuid::from_slice(actor.to_bytes())
        .ok()
        .and_then(|u| u.to_string().parse().ok())
}

/// The first of `changes` written by a device in `revoked`, if any.
pub fn revoked_author<'a>(
    changes: impl IntoIterator<Item = &'a Change>,
    revoked: &[DeviceId],
) -> Option<DeviceId> {
    if revoked.is_empty() {
        return None;
    }
    changes
        .into_iter()
        .filter_map(|c| author_of(c.actor_id()))
        .find(|d| revoked.contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_actor_names_its_device_and_a_random_actor_names_none() {
        let device = DeviceId::random();
        let actor = device_actor(&device).expect("a UUID id");
        assert_eq!(author_of(&actor), Some(device));
        assert_eq!(author_of(&ActorId::from([1u8, 2, 3].as_slice())), None);
        assert_eq!(device_actor(&"not-a-uuid".parse().expect("id")), None);
    }
}
