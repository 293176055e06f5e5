//! Suite cases for groups, enrollment codes and devices.

use siteproof_core::{DeviceId, Scope};

use super::{enrolled, group};
use crate::storage::{EnrollmentCodeRecord, NewDevice, StorageError, SyncStorage};

/// Groups: created once, listed, looked up.
pub async fn groups_are_created_once_and_listed(storage: &dyn SyncStorage) {
    storage
        .create_group(&group("g1", "hebei"))
        .await
        .expect("create");
    storage
        .create_group(&group("g0", "hebei"))
        .await
        .expect("create");
    assert!(matches!(
        storage.create_group(&group("g1", "hebei")).await,
        Err(StorageError::Conflict(_))
    ));
    let ids: Vec<String> = storage
        .list_groups()
        .await
        .expect("list")
        .into_iter()
        .map(|g| g.id.to_string())
        .collect();
    assert_eq!(ids, ["g0", "g1"]);
    assert_eq!(
        storage
            .group(&"g1".parse().expect("id"))
            .await
            .expect("get"),
        Some(group("g1", "hebei"))
    );
    assert_eq!(
        storage
            .group(&"nope".parse().expect("id"))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        storage.epoch().await.expect("epoch"),
        storage.epoch().await.expect("epoch")
    );
}

/// Codes: one device per code, none after expiry, the device gets the group's scope.
pub async fn an_enrollment_code_enrolls_once_and_not_after_expiry(storage: &dyn SyncStorage) {
    storage
        .create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    let (id, token) = enrolled(storage, "g1", 1).await;
    let device = storage
        .device_by_token(&token)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(
        (device.id.clone(), device.scope.clone()),
        (id, Scope::group("hebei", "g1"))
    );
    let again = NewDevice {
        id: DeviceId::random(),
        name: "second".into(),
        token_hash: [9; 32],
        enrolled_at: 11,
        public_key: None,
    };
    assert_eq!(
        storage
            .redeem_enrollment_code(&[1; 32], 11, &again)
            .await
            .expect("redeem"),
        None
    );
    storage
        .add_enrollment_code(&EnrollmentCodeRecord {
            code_hash: [2; 32],
            group: "g1".parse().expect("g"),
            created_at: 0,
            expires_at: 100,
        })
        .await
        .expect("code");
    assert_eq!(
        storage
            .redeem_enrollment_code(&[2; 32], 100, &again)
            .await
            .expect("redeem"),
        None,
        "expired"
    );
    assert_eq!(
        storage.device_by_token(&[9; 32]).await.expect("lookup"),
        None,
        "refusals enroll nobody"
    );
    assert_eq!(storage.list_devices().await.expect("list").len(), 1);
}

/// Revocation sticks and keeps its first time.
pub async fn revoking_a_device_keeps_the_first_time(storage: &dyn SyncStorage) {
    storage
        .create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    let (id, token) = enrolled(storage, "g1", 3).await;
    assert!(storage.revoke_device(&id, 50).await.expect("revoke"));
    assert!(storage.revoke_device(&id, 60).await.expect("revoke again"));
    assert!(
        !storage
            .revoke_device(&DeviceId::random(), 60)
            .await
            .expect("unknown")
    );
    let device = storage
        .device_by_token(&token)
        .await
        .expect("lookup")
        .expect("still listed");
    assert_eq!(device.revoked_at, Some(50));
    assert_eq!(
        storage
            .revoked_devices(&device.scope)
            .await
            .expect("revoked"),
        vec![id],
        "the group's revocation list"
    );
    let other = siteproof_core::Scope::group("hebei", "g2");
    assert!(
        storage
            .revoked_devices(&other)
            .await
            .expect("revoked")
            .is_empty(),
        "another group's list"
    );
}

/// A device session: the device of a token with its group's revoked devices (in id order,
/// another group's left out), the revoked device's own session too (the caller refuses it);
/// an unknown token has none.
pub async fn a_device_session_reads_the_device_with_its_groups_revoked_devices(
    storage: &dyn SyncStorage,
) {
    for (g, region) in [("g1", "hebei"), ("g2", "hebei")] {
        storage
            .create_group(&group(g, region))
            .await
            .expect("group");
    }
    let (caller, token) = enrolled(storage, "g1", 11).await;
    let session = storage
        .device_session(&token)
        .await
        .expect("session")
        .expect("found");
    assert_eq!(
        Some(&session.device),
        storage
            .device_by_token(&token)
            .await
            .expect("device")
            .as_ref()
    );
    assert!(session.revoked.is_empty(), "nobody revoked yet");
    let (a, a_token) = enrolled(storage, "g1", 12).await;
    let (b, _) = enrolled(storage, "g1", 13).await;
    let (elsewhere, _) = enrolled(storage, "g2", 14).await;
    for id in [&a, &b, &elsewhere] {
        assert!(storage.revoke_device(id, 70).await.expect("revoke"));
    }
    let mut both = vec![a.clone(), b];
    both.sort();
    let session = storage
        .device_session(&token)
        .await
        .expect("session")
        .expect("found");
    assert_eq!(session.device.id, caller);
    assert_eq!(session.device.revoked_at, None);
    assert_eq!(
        session.revoked, both,
        "its group's revoked devices, in id order"
    );
    assert_eq!(
        session.revoked,
        storage
            .revoked_devices(&session.device.scope)
            .await
            .expect("revoked"),
        "the list revoked_devices reads"
    );
    let revoked = storage
        .device_session(&a_token)
        .await
        .expect("session")
        .expect("a revoked device is found");
    assert_eq!(
        (revoked.device.id, revoked.device.revoked_at),
        (a, Some(70))
    );
    assert_eq!(revoked.revoked, both);
    assert_eq!(
        storage.device_session(&[0x5a; 32]).await.expect("session"),
        None,
        "an unknown token"
    );
}
