//! The test suite every [`SyncStorage`] backend must pass (with its [`RateStore`](crate::storage::RateStore),
//! [`WebUserStore`](crate::storage::WebUserStore), [`LeadStore`](crate::storage::LeadStore),
//! [`TemplateStore`](crate::storage::TemplateStore),
//! [`RosterStore`](crate::storage::RosterStore),
//! [`AssignmentStore`](crate::storage::AssignmentStore),
//! [`CustodyStore`](crate::storage::CustodyStore),
//! [`CaseStore`](crate::storage::CaseStore),
//! [`EnterpriseStore`](crate::storage::EnterpriseStore),
//! [`OfficeIndexStore`](crate::storage::OfficeIndexStore) and
//! [`SupervisionStore`](crate::storage::SupervisionStore)),
//! written once. A backend's tests
//! invoke [`storage_suite!`](crate::storage_suite!) with two async functions: one that makes
//! a fresh, empty storage, and one that makes a fresh, empty database and a [`Processes`]
//! opening storages on it, each as another server process would; both also return a guard
//! that cleans up when dropped:
//!
//! ```ignore
//! async fn make() -> (SqliteStorage, tempfile::TempDir) { ... }
//! async fn processes() -> (Processes, tempfile::TempDir) { ... }
//! siteproof_server::storage_suite!(make, processes);
//! ```

mod accounts;
mod assignments;
mod cases;
mod custody;
mod enterprises;
mod leads;
mod log;
mod office_index;
mod processes;
mod rate;
mod rosters;
mod supervision;
mod templates;
mod upload_leases;
mod uploads;
mod web_users;

pub use accounts::*;
pub use assignments::*;
pub use cases::*;
pub use custody::*;
pub use enterprises::*;
pub use leads::*;
pub use log::*;
pub use office_index::*;
pub use processes::*;
pub use rate::*;
pub use rosters::*;
pub use supervision::*;
pub use templates::*;
pub use upload_leases::*;
pub use uploads::*;
pub use web_users::*;

use automerge::ActorId;
use siteproof_core::{DeviceId, RecordHeader, RecordId, RecordKind, Scope};

use crate::storage::{
    EnrollmentCodeRecord, GroupRecord, Hash, NewDevice, PushWrite, RecordWrite, ScanQuery,
    SyncStorage,
};

/// Generates one `#[tokio::test]` per suite case, each on a fresh storage from `$make`.
#[macro_export]
macro_rules! storage_suite {
    ($make:path, $processes:path) => {
        $crate::storage_suite!(@cases $make;
            groups_are_created_once_and_listed,
            an_enrollment_code_enrolls_once_and_not_after_expiry,
            revoking_a_device_keeps_the_first_time,
            a_device_session_reads_the_device_with_its_groups_revoked_devices,
            changes_are_stored_once_per_record_and_seq_only_grows,
            a_push_meeting_a_record_with_another_header_stores_nothing,
            a_record_remembers_its_first_change_and_who_pushed_it,
            snapshots_only_move_forward_and_full_documents_add_the_tail,
            a_push_stores_its_snapshot_only_if_its_copy_has_every_stored_change,
            a_scan_sees_the_group_the_region_and_global_records_only,
            a_scan_marks_the_readers_own_changes_and_new_records,
            a_scan_pages_by_seq,
            documents_since_reads_rows_with_the_changes_after_each_seq,
            a_scan_from_a_cursor_reads_the_change_at_it_with_the_page,
            a_push_failing_half_way_stores_nothing,
            multi_megabyte_values_round_trip,
            a_counter_admits_to_its_limit_and_again_once_the_oldest_hit_expires,
            counters_clear_refund_and_prune_and_unlocks_are_kept,
            a_login_is_taken_once_and_its_password_found,
            a_session_is_live_until_it_expires_or_is_deleted,
            a_lead_is_stored_once_and_found_by_its_receipt,
            leads_are_listed_within_the_readers_rows_newest_first,
            a_lead_is_triaged_once_and_a_taken_back_triage_frees_it,
            a_template_draft_is_imported_once_and_listed_in_order,
            a_template_version_is_published_once_with_its_draft,
            inspectors_join_only_groups_of_their_region,
            experts_are_kept_per_region_by_name,
            an_assignment_is_issued_with_its_row_and_listed_within_the_readers_rows,
            issuing_an_assignment_under_a_stored_id_writes_nothing,
            custody_entries_chain_in_order_and_are_found_by_subject,
            an_evidence_check_is_stored_with_its_custody_entry_or_not_at_all,
            a_case_is_written_with_its_row_and_custody_entry,
            a_case_write_not_as_read_writes_nothing,
            a_lease_has_one_holder_until_it_lapses_or_is_given_back,
            the_registry_is_imported_once_per_code_and_listed_by_name,
            an_enterprises_history_is_read_within_the_readers_rows,
            a_site_merge_sets_its_visits_and_its_undo_clears_exactly_those,
            office_visits_are_listed_within_the_readers_rows_by_filter,
            the_ledger_lists_and_counts_entries_within_the_readers_rows_by_filter,
            period_figures_count_within_the_readers_rows,
            index_rows_are_stored_whole_from_the_position_read,
            a_list_entry_is_opened_and_closed_once_with_its_audit,
            risk_facts_are_read_alike_from_visits_findings_cases_merges_and_leads,
            a_risk_update_reads_what_changed_since_its_position,
            an_upload_row_reads_back_with_its_hash_state,
            an_offset_is_saved_by_the_lease_holder_from_the_offset_it_read,
            expired_uploads_spare_those_a_process_holds
        );
        $crate::storage_suite!(@processes $processes;
            processes_starting_together_migrate_once,
            concurrent_pushes_leave_no_gap_a_reader_can_skip,
            racing_redemptions_of_one_code_enroll_one_device,
            two_processes_creating_one_record_store_it_once,
            what_one_process_writes_is_in_the_next_sync_read_of_another,
            processes_hitting_one_key_at_once_count_every_hit_once,
            processes_creating_one_login_at_once_create_one_user,
            processes_triaging_one_lead_at_once_triage_it_once,
            processes_publishing_one_template_version_at_once_publish_it_once,
            processes_editing_one_roster_at_once_keep_every_inspector_in_one_group,
            processes_issuing_one_assignment_at_once_issue_it_once,
            processes_appending_custody_at_once_keep_one_chain,
            processes_opening_one_case_at_once_open_it_once,
            processes_advancing_one_case_at_once_decide_on_each_others_events,
            processes_taking_one_lease_at_once_give_it_to_one,
            processes_saving_one_uploads_offsets_keep_every_acknowledged_one,
            processes_merging_one_site_at_once_merge_it_once,
            processes_importing_one_registry_at_once_keep_one_row_per_code,
            processes_refreshing_the_index_at_once_keep_the_newer_rows,
            processes_adding_one_list_entry_at_once_add_it_once,
            a_risk_change_committed_after_a_later_one_is_still_read,
            a_write_in_flight_elsewhere_makes_a_view_read_nothing_again,
            pruning_by_one_process_never_loses_a_change_another_has_not_read
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
    (@processes $processes:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (open, _guard) = $processes().await;
                $crate::storage_suite::$case(&open).await;
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

/// The records of the changes a scan returns (one page of up to 100), in order.
pub(super) async fn scanned_ids(storage: &dyn SyncStorage, q: &ScanQuery) -> Vec<RecordId> {
    storage
        .scan(q, 100)
        .await
        .expect("scan")
        .into_iter()
        .map(|r| r.doc_id)
        .collect()
}

/// Follows a cursor to the end of the log as a puller does, pages of `page` changes,
/// returning the seqs seen; `q.after` is left at the last one.
pub(super) async fn drain(storage: &dyn SyncStorage, q: &mut ScanQuery, page: u32) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        let rows = storage.scan(q, page).await.expect("scan");
        let Some(last) = rows.last() else {
            return seen;
        };
        q.after = last.seq;
        seen.extend(rows.iter().map(|r| r.seq));
    }
}
