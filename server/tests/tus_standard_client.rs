//! A standard tus client from PyPI (tuspy) uploads to the server: the protocol is tus 1.0.0,
//! not a private dialect. Needs `python3` with `pip install tuspy`.

mod common;
mod media_fixture;

use common::TestServer;
use media_fixture::processes::*;
use media_fixture::write_pseudo_random_file;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_a_file_in_checksummed_chunks_and_finishes_a_stored_one_at_once() {
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("clip.mp4");
    let hash = write_pseudo_random_file(&file, 10_000_000, 21);
    let (visit, _) = phone.capture_and_sync(&server, &file).await;
    // A second visit names the same file: its upload finds the file already stored.
    let (second, _) = phone.capture_and_sync(&server, &file).await;
    let dir = server.close().await;
    let process = ServerProcess::start(dir.path());
    let endpoint = format!("http://{}/v1/uploads", process.addr);
    let run = |record: String| {
        let mut command = tuspy(&endpoint, &phone.token, &record, &hash, &file, 4 << 20);
        tokio::task::spawn_blocking(move || command.output().expect("run python3"))
    };

    let output = run(visit.to_string()).await.expect("tuspy");
    assert!(
        output.status.success(),
        "tuspy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("uploaded"));
    // tuspy ignores the creation's Upload-Offset and PATCHes from 0: the answer (204, offset
    // = length) ends its upload, where a 409 used to fail it (it does not retry by default).
    let again = run(second.to_string()).await.expect("tuspy");
    assert!(
        again.status.success(),
        "tuspy on a stored file failed: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).ends_with(" 10000000\n"),
        "tuspy ends at the file's length: {}",
        String::from_utf8_lossy(&again.stdout)
    );
    let blob = dir.path().join("blobs").join("blobs").join(&hash);
    assert_eq!(sha256_file(&blob), hash);
    process.kill();
}
