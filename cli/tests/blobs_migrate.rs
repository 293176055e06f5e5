//! `siteproof admin blobs migrate`, the real binary, between a data directory's blob folder
//! and a real Garage bucket, both ways: a blob with a flipped byte is named, fails the run
//! and is not copied; a second run copies nothing new; `admin evidence verify` re-hashes
//! what is in the bucket. (The migration's own logic is tested in
//! `server/tests/blobs_s3.rs`; this is the command as an operator runs it.)

mod common;
#[allow(dead_code)]
#[path = "../../server/tests/s3_fixture/garage.rs"]
mod garage;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use common::{laptop_with_a_visit, ok, siteproof_with_env, text};
use garage::Garage;
use object_store::ObjectStoreExt;
use siteproof_server::blob::{BlobStore, S3BlobStore};

/// Every blob of a folder store (`<folder>/blobs/<hash>`), by hash.
fn folder_blobs(folder: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(folder.join("blobs"))
        .expect("blob folder")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into();
            (name, std::fs::read(&path).expect("read blob"))
        })
        .collect()
}

/// Every blob the bucket lists (with its metadata), by hash.
async fn bucket_blobs(store: &S3BlobStore) -> BTreeMap<String, Vec<u8>> {
    use futures_util::StreamExt;
    let mut out = BTreeMap::new();
    for hash in store.list_blobs().await.expect("list") {
        let Some(meta) = store.blob_meta(&hash).await.expect("meta") else {
            continue;
        };
        let mut bytes = Vec::new();
        let mut stream = store.read_blob(&hash, 0..meta.size).await.expect("read");
        while let Some(piece) = stream.next().await {
            bytes.extend_from_slice(&piece.expect("piece"));
        }
        out.insert(hash.to_string(), bytes);
    }
    out
}

fn flip_a_byte(path: &Path) {
    let mut bytes = std::fs::read(path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(path, bytes).expect("write");
}

fn assert_failed_naming(out: &Output, damaged: &str) -> String {
    let said = text(out);
    assert!(!out.status.success(), "a damaged blob passed: {said}");
    assert!(said.contains(&format!("damaged\t{damaged}")), "{said}");
    said
}

#[test]
fn blobs_migrate_to_a_bucket_and_back_catching_a_flipped_byte_and_resuming() {
    let garage = Garage::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = laptop_with_a_visit(dir.path());
    let mut files = Vec::new();
    // One large enough to go up as a multipart upload, two small ones.
    for (i, len) in [(6 << 20) + 1, 70_000, 1000].into_iter().enumerate() {
        let path = dir.path().join(format!("evidence-{i}.jpg"));
        let data: Vec<u8> = (0..len).map(|b: usize| (b * 7 + i) as u8).collect();
        std::fs::write(&path, data).expect("write");
        files.push(path.to_str().expect("utf-8").to_owned());
    }
    let mut upload = vec!["client", "--home", &scene.home, "upload", &scene.visit];
    upload.extend(files.iter().map(String::as_str));
    assert!(ok(&upload).contains("3 uploaded and verified"));
    let data = scene.data.clone();
    drop(scene);

    let folder = Path::new(&data).join("blobs");
    let originals = folder_blobs(&folder);
    assert_eq!(originals.len(), 3);
    let damaged = originals
        .iter()
        .find(|(_, bytes)| bytes.len() == 1000)
        .map(|(hash, _)| hash.clone())
        .expect("the small blob");
    flip_a_byte(&folder.join("blobs").join(&damaged));

    let bucket = "s3://siteproof/migrated";
    let folder_arg = folder.to_str().expect("utf-8");
    let migrate = |from: &str, to: &str| {
        siteproof_with_env(
            &["admin", "blobs", "migrate", "--from", from, "--to", to],
            &garage.env,
        )
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = garage.store("migrated");
    let intact: BTreeMap<String, Vec<u8>> = originals
        .iter()
        .filter(|(hash, _)| **hash != damaged)
        .map(|(h, b)| (h.clone(), b.clone()))
        .collect();

    // Folder to bucket: the damaged blob is named and not copied, the others are.
    let said = assert_failed_naming(&migrate(folder_arg, bucket), &damaged);
    assert!(said.contains("2 copied"), "{said}");
    assert_eq!(runtime.block_on(bucket_blobs(&store)), intact);
    let damaged_key = store.blob_key(&damaged.parse().expect("hash"));
    assert!(
        runtime
            .block_on(store.object_store().head(&damaged_key))
            .is_err(),
        "damaged bytes reached the bucket"
    );

    // Run again: nothing is copied twice; once repaired, only the missing blob goes.
    let said = assert_failed_naming(&migrate(folder_arg, bucket), &damaged);
    assert!(
        said.contains("0 copied (0 bytes), 2 already there"),
        "{said}"
    );
    flip_a_byte(&folder.join("blobs").join(&damaged));
    let third = migrate(folder_arg, bucket);
    assert!(third.status.success(), "{}", text(&third));
    assert!(
        text(&third).contains("1 copied (1000 bytes), 2 already there, 0 damaged"),
        "{}",
        text(&third)
    );
    assert_eq!(runtime.block_on(bucket_blobs(&store)), originals);

    // `admin evidence verify` on the bucket: intact, then a byte flipped in the bucket's copy.
    let verify = || {
        siteproof_with_env(
            &[
                "admin", "--data", &data, "--blobs", bucket, "evidence", "verify",
            ],
            &garage.env,
        )
    };
    let checked = verify();
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(
        text(&checked).contains("3 piece(s) of evidence checked"),
        "{}",
        text(&checked)
    );
    let (victim, victim_bytes) = intact.iter().next().expect("an intact blob");
    let victim_key = store.blob_key(&victim.parse().expect("hash"));
    let mut forged = victim_bytes.clone();
    forged[7] ^= 1;
    runtime
        .block_on(store.object_store().put(&victim_key, forged.into()))
        .expect("damage the bucket's copy");
    let caught = verify();
    assert!(!caught.status.success(), "{}", text(&caught));
    assert!(
        text(&caught).contains("rejected\t") && text(&caught).contains(victim.as_str()),
        "{}",
        text(&caught)
    );

    // Bucket to a fresh folder: the damaged object is named and not copied.
    let back = dir.path().join("back");
    let back_arg = back.to_str().expect("utf-8");
    let said = assert_failed_naming(&migrate(bucket, back_arg), victim);
    assert!(said.contains("2 copied"), "{said}");
    let mut expected = originals.clone();
    expected.remove(victim);
    assert_eq!(folder_blobs(&back), expected);
    let said = assert_failed_naming(&migrate(bucket, back_arg), victim);
    assert!(
        said.contains("0 copied (0 bytes), 2 already there"),
        "{said}"
    );
}
