//! The admin service on its own: groups, codes, devices, templates.

mod common;

use std::time::Duration;

use common::*;
use siteproof_server::Error;

#[tokio::test]
async fn a_group_id_is_taken_once_and_random_ids_are_made_when_none_is_given() {
    let server = TestServer::new().await;
    let admin = &server.state.admin;
    let err = admin
        .create_group(
            "hebei".parse().expect("r"),
            "again",
            Some("g1".parse().expect("g")),
        )
        .await;
    assert!(matches!(err, Err(Error::Conflict(_))), "{err:?}");
    let made = admin
        .create_group("shanxi".parse().expect("r"), "第三组", None)
        .await
        .expect("create");
    let groups = admin.list_groups().await.expect("list");
    assert_eq!(groups.len(), 3);
    assert!(
        groups
            .iter()
            .any(|g| g.id == made.id && g.region.as_str() == "shanxi" && g.name == "第三组")
    );
    assert!(matches!(
        admin
            .create_group("hebei".parse().expect("r"), "  ", None)
            .await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn codes_are_issued_only_for_existing_groups_and_expire_after_their_ttl() {
    let server = TestServer::new().await;
    let admin = &server.state.admin;
    let missing = admin
        .issue_enrollment_code(&"nope".parse().expect("g"), Duration::from_secs(60))
        .await;
    assert!(
        matches!(missing, Err(Error::UnknownGroup(_))),
        "{missing:?}"
    );
    let before = siteproof_core::model::now();
    let code = admin
        .issue_enrollment_code(
            &"g1".parse().expect("g"),
            siteproof_server::admin::DEFAULT_CODE_TTL,
        )
        .await
        .expect("code");
    let day_ms = 24 * 3600 * 1000;
    assert!(
        code.expires_at >= before + day_ms
            && code.expires_at <= siteproof_core::model::now() + day_ms
    );
    assert_ne!(
        code.code,
        admin
            .issue_enrollment_code(&code.group, Duration::from_secs(60))
            .await
            .expect("code")
            .code
    );
}

#[tokio::test]
async fn devices_are_listed_with_their_scope_and_revocation() {
    let server = TestServer::new().await;
    let a = server.enroll("g1").await;
    let b = server.enroll("g2").await;
    server
        .state
        .admin
        .revoke_device(&a.device_id)
        .await
        .expect("revoke");
    let missing = server
        .state
        .admin
        .revoke_device(&siteproof_core::DeviceId::random())
        .await;
    assert!(matches!(missing, Err(Error::UnknownDevice(_))));
    let devices = server.state.admin.list_devices().await.expect("list");
    let find =
        |id: &siteproof_core::DeviceId| devices.iter().find(|d| &d.id == id).expect("listed");
    assert!(find(&a.device_id).revoked_at.is_some());
    assert_eq!(find(&b.device_id).revoked_at, None);
    assert_eq!(
        find(&b.device_id).scope,
        siteproof_core::Scope::group("hebei", "g2")
    );
}

#[tokio::test]
async fn a_template_version_is_published_once_and_must_be_valid() {
    let server = TestServer::new().await;
    let admin = &server.state.admin;
    let t = template();
    let id = admin.publish_template(&t).await.expect("publish");
    assert_eq!(id.as_str(), "template:fixture@1");
    assert!(matches!(
        admin.publish_template(&t).await,
        Err(Error::Conflict(_))
    ));
    let full = server
        .state
        .storage
        .full_document(&id)
        .await
        .expect("full")
        .expect("stored");
    assert!(full.snapshot.is_some(), "published with a snapshot");
    let mut broken = t.clone();
    broken.items.clear();
    broken.version = 2;
    assert!(matches!(
        admin.publish_template(&broken).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_draft_published_by_two_processes_at_once_is_published_once() {
    let first = TestServer::new().await;
    // A second server over the same data directory, as another process would open it.
    let second =
        siteproof_server::Services::open(first.dir.path(), first.config_of_another_process())
            .await
            .expect("second process");
    let text = serde_json::to_string(&template()).expect("json");
    first
        .state
        .backoffice
        .import_template(&text)
        .await
        .expect("import");
    let (a, b) = tokio::join!(
        first.state.backoffice.publish_draft("fixture", 1),
        second.backoffice.publish_draft("fixture", 1),
    );
    let (won, lost) = match (a, b) {
        (Ok(id), Err(e)) | (Err(e), Ok(id)) => (id, e),
        other => panic!("exactly one publication should win: {other:?}"),
    };
    assert!(matches!(lost, Error::Conflict(_)), "{lost:?}");
    assert_eq!(won.as_str(), "template:fixture@1");
    for office in [&first.state.backoffice, &second.backoffice] {
        let library = office.template_library().await.expect("library");
        assert_eq!(library.len(), 1, "one version, not a draft beside it");
        assert_eq!(library[0].state.code(), "published");
    }
    let mut alone = template();
    alone.version = 2;
    let alone = first
        .state
        .admin
        .publish_template(&alone)
        .await
        .expect("v2");
    let storage = &first.state.storage;
    assert_eq!(
        storage.changes_after(&won, 0).await.expect("changes").len(),
        storage
            .changes_after(&alone, 0)
            .await
            .expect("changes")
            .len(),
        "the changes of one publication only"
    );
}
