//! The test suite every [`SyncStorage`] backend must pass, written once. A backend's tests
//! invoke [`storage_suite!`](crate::storage_suite!) with an async function that makes a fresh,
//! empty storage (and a guard that cleans it up when dropped):
//!
//! ```ignore
//! async fn make() -> (SqliteStorage, tempfile::TempDir) { ... }
//! siteproof_server::storage_suite!(make);
//! ```

mod accounts;
mod log;

pub use accounts::*;
pub use log::*;

use automerge::ActorId;
use siteproof_core::{DeviceId, RecordHeader, RecordId, RecordKind, Scope};

use crate::storage::{
    EnrollmentCodeRecord, GroupRecord, Hash, NewDevice, PushWrite, RecordWrite, SyncStorage,
};

/// Generates one `#[tokio::test]` per suite case, each on a fresh storage from `$make`.
#[macro_export]
macro_rules! storage_suite {
    ($make:path) => {
        $crate::storage_suite!(@cases $make;
            groups_are_created_once_and_listed,
            an_enrollment_code_enrolls_once_and_not_after_expiry,
            revoking_a_device_keeps_the_first_time,
            changes_are_stored_once_per_record_and_seq_only_grows,
            a_push_meeting_a_record_with_another_header_stores_nothing,
            a_record_remembers_its_first_change_and_who_pushed_it,
            snapshots_only_move_forward_and_full_documents_add_the_tail,
            a_push_stores_its_snapshot_only_if_its_copy_has_every_stored_change,
            a_scan_sees_the_group_the_region_and_global_records_only,
            a_scan_marks_the_readers_own_changes_and_new_records,
            a_scan_pages_by_seq
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (storage, _guard) = $make().await;
                $crate::storage_suite::$case(&storage).await;
            }
        )*
    };
}

pub(super) fn group(id: &str, region: &str) -> GroupRecord {
    GroupRecord {
        id: id.parse().expect("group id"),
        region: region.parse().expect("region"),
        name: format!("group {id}"),
        created_at: 1,
    }
}

pub(super) async fn enrolled(
    storage: &dyn SyncStorage,
    group_id: &str,
    code: u8,
) -> (DeviceId, Hash) {
    let hash = [code; 32];
    storage
        .add_enrollment_code(&EnrollmentCodeRecord {
            code_hash: hash,
            group: group_id.parse().expect("group"),
            created_at: 0,
            expires_at: 1_000,
        })
        .await
        .expect("code");
    let device = NewDevice {
        id: DeviceId::random(),
        name: "phone".into(),
        token_hash: [code ^ 0xff; 32],
        enrolled_at: 10,
        public_key: None,
    };
    let record = storage
        .redeem_enrollment_code(&hash, 10, &device)
        .await
        .expect("redeem")
        .expect("enrolled");
    (record.id, device.token_hash)
}

/// A record and `n` changes of it, each depending on the previous.
pub(super) fn record(kind: RecordKind, scope: Scope, n: usize) -> RecordWrite {
    let header = RecordHeader {
        kind,
        id: RecordId::random(),
        scope,
    };
    let mut doc = header.create(ActorId::random()).expect("create");
    doc.commit();
    for i in 1..n {
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "n", i as i64)
            .expect("put");
        doc.commit();
    }
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|mut c| (c.hash().0, c.bytes().into_owned()))
        .collect();
    RecordWrite {
        header,
        changes,
        known_through: 0,
        snapshot: None,
    }
}

pub(super) async fn seqs_of(storage: &dyn SyncStorage, id: &RecordId) -> Vec<u64> {
    storage
        .changes_after(id, 0)
        .await
        .expect("changes")
        .iter()
        .map(|c| c.seq)
        .collect()
}

pub(super) async fn push(
    storage: &dyn SyncStorage,
    by: Option<&DeviceId>,
    records: Vec<RecordWrite>,
) {
    storage
        .store_push(&PushWrite {
            pushed_by: by.cloned(),
            records,
        })
        .await
        .expect("store push");
}
