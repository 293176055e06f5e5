//! The uploader rides out transient failures within one run: connections that die before
//! their answer arrives are retried with backoff (after asking the server where the upload
//! stands) instead of deferring the file to a later run.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use siteproof_core::media::{Network, Uploader, UploaderConfig};
use siteproof_tests::proxy::DroppingProxy;
use siteproof_tests::server::TestServer;

#[test]
fn lost_answers_are_retried_within_the_run_and_the_upload_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(2);
    server.publish_template(&template);
    let mut store = server.enroll_store(&group, &dir.path().join("phone.db"), "检查员");
    let media = store.media_store(dir.path().join("media")).expect("media");
    let visit = store
        .create_visit(siteproof_tests::new_visit(&template, "隧道"))
        .expect("visit");
    let attached = siteproof_tests::attach_clip(
        &mut store,
        &media,
        &visit,
        &dir.path().join("clip.mp4"),
        3_000_000,
    );
    store.sync().expect("the record names the file");

    // The first three connections lose their answers after the server has acted on them.
    let proxy = DroppingProxy::start(server.addr(), 3);
    let mut config = UploaderConfig::new(
        format!("{}/v1/uploads", proxy.url()),
        store.server_token().expect("token").expect("enrolled"),
    );
    config.chunk_size = 1 << 20;
    config.retry_backoff = Duration::from_millis(10);
    let run = Uploader::new(config)
        .expect("uploader")
        .run(
            &mut store,
            &media,
            Network::Unmetered,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .expect("run");

    assert_eq!(proxy.dropped(), 3, "three answers were lost");
    assert_eq!(run.completed, vec![attached.hash.clone()], "{run:?}");
    assert!(run.deferred.is_empty() && run.failed.is_empty(), "{run:?}");
    let info = store
        .media_info(&attached.hash)
        .expect("media info")
        .expect("row");
    assert!(info.verified_at.is_some(), "the server holds it, verified");
}
