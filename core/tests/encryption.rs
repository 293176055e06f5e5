//! Encryption at rest: the store opens only with its key, a re-key keeps everything, nothing
//! captured can be read from the raw files, and damaged evidence is refused.

mod common;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use common::*;
use siteproof_core::media::MediaStore;
use siteproof_core::*;

const SITE: &str = "秘密燃气站东区加气点";
const NOTE: &str = "DISTINCT-NOTE-安全出口被堵-7f3a";
const REMARK: &str = "DISTINCT-REMARK-e91c 仓库堆放液化气瓶";
const FINDING: &str = "DISTINCT-FINDING-可燃气体报警器未通电-44b2";
const VIDEO_MARKER: &[u8] = b"DISTINCT-VIDEO-BYTES-0d15ea5e";

struct Capture {
    visit: RecordId,
    photo: MediaRef,
    video: MediaRef,
    photo_bytes: Vec<u8>,
    video_bytes: Vec<u8>,
}

fn db(dir: &Path) -> PathBuf {
    dir.join("siteproof.db")
}

fn open_encrypted(dir: &Path, key: &StoreKey) -> Store {
    let mut store = Store::open_encrypted(db(dir), key).expect("open encrypted store");
    store.set_profile(&profile("张三")).expect("profile");
    if store.list_templates().expect("templates").is_empty() {
        store.put_template(&template()).expect("template");
    }
    store
}

/// A JPEG photo (noise, so its bytes are distinctive) and a "video" made of a marker.
fn evidence_files(dir: &Path, seed: u8) -> (PathBuf, PathBuf) {
    let img = image::RgbImage::from_fn(400, 300, |x, y| {
        let v = (x * 7 + y * 13 + u32::from(seed) * 31) as u8;
        image::Rgb([v, v.wrapping_mul(3), v ^ 0x5a])
    });
    let photo = dir.join(format!("photo-{seed}.jpg"));
    img.save(&photo).expect("write photo");
    let video = dir.join(format!("video-{seed}.mp4"));
    let mut bytes = Vec::new();
    for i in 0..20_000u32 {
        bytes.extend_from_slice(VIDEO_MARKER);
        bytes.extend_from_slice(&i.to_le_bytes());
        bytes.push(seed);
    }
    std::fs::write(&video, bytes).expect("write video");
    (photo, video)
}

fn capture(store: &mut Store, media: &MediaStore, dir: &Path, seed: u8) -> Capture {
    let visit = store
        .create_visit(new_visit(&template(), SITE))
        .expect("visit");
    store
        .answer_item(&visit, &item("exits"), fail(NOTE))
        .expect("answer");
    store
        .answer_item(
            &visit,
            &item("remarks"),
            AnswerInput {
                value: AnswerValue::Text(REMARK.into()),
                note: None,
                media: vec![],
            },
        )
        .expect("text answer");
    store
        .add_finding(
            &visit,
            NewFinding {
                description: FINDING.into(),
                severity: Severity::Major,
                item: Some(item("exits")),
                location: None,
                media: vec![],
                fixed_on_spot: false,
                interim_measures: Some(NOTE.into()),
            },
        )
        .expect("finding");
    let (photo_path, video_path) = evidence_files(dir, seed);
    let photo = store
        .add_evidence(
            &visit,
            media,
            &photo_path,
            MediaCapture {
                kind: MediaKind::Photo,
                mime: "image/jpeg".into(),
                captured_at: None,
                location: None,
                poster: None,
            },
        )
        .expect("photo");
    let video = store
        .add_evidence(
            &visit,
            media,
            &video_path,
            MediaCapture {
                kind: MediaKind::Video,
                mime: "video/mp4".into(),
                captured_at: None,
                location: None,
                poster: Some(photo_path.clone()),
            },
        )
        .expect("video");
    let photo_bytes = std::fs::read(&photo_path).expect("photo bytes");
    let video_bytes = std::fs::read(&video_path).expect("video bytes");
    // The app deletes its scratch copies after `add_evidence`.
    std::fs::remove_file(photo_path).expect("rm");
    std::fs::remove_file(video_path).expect("rm");
    Capture {
        visit,
        photo,
        video,
        photo_bytes,
        video_bytes,
    }
}

fn original(media: &MediaStore, hash: &MediaHash) -> Vec<u8> {
    let mut out = Vec::new();
    media
        .open_original(hash)
        .expect("open original")
        .expect("original present")
        .read_to_end(&mut out)
        .expect("read original");
    out
}

/// Every captured item is readable and equal to what was captured.
fn assert_intact(store: &mut Store, media: &MediaStore, c: &Capture) {
    let visit = store.visit(&c.visit).expect("visit");
    assert_eq!(visit.site.name, SITE);
    assert_eq!(visit.answers["exits"].note.as_deref(), Some(NOTE));
    assert_eq!(
        visit.answers["remarks"].value,
        AnswerValue::Text(REMARK.into())
    );
    assert_eq!(visit.findings.len(), 1);
    assert_eq!(visit.media.len(), 2);
    assert!(original(media, &c.photo.hash) == c.photo_bytes);
    assert!(original(media, &c.video.hash) == c.video_bytes);
    for hash in [&c.photo.hash, &c.video.hash] {
        let thumb = media
            .thumbnail_bytes(hash)
            .expect("thumbnail")
            .expect("thumbnail made");
        image::load_from_memory(&thumb).expect("thumbnail decodes");
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The needles the raw files must not hold: every captured text, and pieces of the photo,
/// the video and a thumbnail.
fn needles(media: &MediaStore, c: &Capture) -> Vec<(String, Vec<u8>)> {
    let middle = |b: &[u8]| b[b.len() / 2..b.len() / 2 + 48].to_vec();
    let thumb = media
        .thumbnail_bytes(&c.photo.hash)
        .expect("thumb")
        .expect("made");
    let mut out: Vec<(String, Vec<u8>)> = [SITE, NOTE, REMARK, FINDING, "张三", "石家庄市长安区"]
        .iter()
        .map(|s| (s.to_string(), s.as_bytes().to_vec()))
        .collect();
    out.push(("video bytes".into(), VIDEO_MARKER.to_vec()));
    out.push(("photo bytes".into(), middle(&c.photo_bytes)));
    out.push(("thumbnail bytes".into(), middle(&thumb)));
    out.push(("SQLite header".into(), b"SQLite format 3".to_vec()));
    out
}

/// The needles found in some file under `dirs`, as "needle in file".
fn leaks(dirs: &[&Path], needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in dirs {
        for file in files_under(dir) {
            let bytes = std::fs::read(&file).expect("read raw file");
            for (name, needle) in needles {
                if contains(&bytes, needle) {
                    found.push(format!("{name} in {}", file.display()));
                }
            }
        }
    }
    found
}

#[test]
fn nothing_captured_can_be_read_from_the_raw_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = StoreKey::random();
    let mut store = open_encrypted(dir.path(), &key);
    let media = store.media_store(dir.path().join("media")).expect("media");
    let c = capture(&mut store, &media, dir.path(), 1);
    let secrets = needles(&media, &c);
    let expected_files = ["siteproof.db", "siteproof.db-wal", "siteproof.db-shm"];
    for name in expected_files {
        assert!(dir.path().join(name).is_file(), "{name} exists while open");
    }
    assert_eq!(
        leaks(&[dir.path()], &secrets),
        Vec::<String>::new(),
        "while the store is open"
    );
    drop(store);
    assert_eq!(
        leaks(&[dir.path()], &secrets),
        Vec::<String>::new(),
        "after it closed"
    );

    // The same captures in an unencrypted store: the scan finds them, so it would see a leak.
    let plain_dir = tempfile::tempdir().expect("tmp");
    let mut plain = store_at(&db(plain_dir.path()), "张三");
    let plain_media = plain
        .media_store(plain_dir.path().join("media"))
        .expect("media");
    let p = capture(&mut plain, &plain_media, plain_dir.path(), 1);
    drop(plain);
    let found = leaks(&[plain_dir.path()], &needles(&plain_media, &p));
    for name in [SITE, NOTE, "video bytes", "photo bytes", "thumbnail bytes"] {
        assert!(
            found.iter().any(|f| f.starts_with(name)),
            "{name} visible in a plain store"
        );
    }
}

#[test]
fn a_wrong_key_is_refused_and_the_right_key_still_opens_everything() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = StoreKey::random();
    let mut store = open_encrypted(dir.path(), &key);
    let media = store.media_store(dir.path().join("media")).expect("media");
    let c = capture(&mut store, &media, dir.path(), 2);
    drop(store);
    let before = std::fs::read(db(dir.path())).expect("db bytes");

    let wrong = Store::open_encrypted(db(dir.path()), &StoreKey::random());
    assert!(matches!(wrong, Err(Error::WrongKey)), "{:?}", wrong.err());
    let keyless = Store::open(db(dir.path()));
    assert!(
        matches!(keyless, Err(Error::KeyRequired)),
        "{:?}",
        keyless.err()
    );
    assert!(std::fs::read(db(dir.path())).expect("db bytes") == before);

    let mut store = Store::open_encrypted(db(dir.path()), &key).expect("right key opens");
    let media = store.media_store(dir.path().join("media")).expect("media");
    assert_intact(&mut store, &media, &c);
    assert_eq!(store.list_visits().expect("list").len(), 1);
}

#[test]
fn an_unencrypted_store_refuses_a_key_and_stays_usable() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = store_at(&db(dir.path()), "张三");
    let visit = store
        .create_visit(new_visit(&template(), SITE))
        .expect("visit");
    drop(store);
    let keyed = Store::open_encrypted(db(dir.path()), &StoreKey::random());
    assert!(
        matches!(keyed, Err(Error::NotEncrypted)),
        "{:?}",
        keyed.err()
    );
    let mut store = Store::open(db(dir.path())).expect("plain store opens");
    assert!(!store.is_encrypted());
    assert_eq!(store.visit(&visit).expect("visit").site.name, SITE);
    assert!(matches!(
        store.rekey(&StoreKey::random()),
        Err(Error::NotEncrypted)
    ));
}

#[test]
fn rekey_keeps_every_record_and_file_and_only_the_new_key_opens() {
    let dir = tempfile::tempdir().expect("tmp");
    let old = StoreKey::random();
    let new = StoreKey::random();
    let mut store = open_encrypted(dir.path(), &old);
    let media = store.media_store(dir.path().join("media")).expect("media");
    let before = capture(&mut store, &media, dir.path(), 3);
    let original_file = media.original_path(&before.video.hash).expect("stored");
    let sealed_before = std::fs::read(&original_file).expect("raw");

    store.rekey(&new).expect("rekey");
    // The same media store goes on working, and what it writes now uses the new media key.
    let after = capture(&mut store, &media, dir.path(), 4);
    assert_intact(&mut store, &media, &before);
    drop(store);

    assert!(
        std::fs::read(&original_file).expect("raw") == sealed_before,
        "files are not re-encrypted"
    );
    assert!(matches!(
        Store::open_encrypted(db(dir.path()), &old),
        Err(Error::WrongKey)
    ));
    let mut store = Store::open_encrypted(db(dir.path()), &new).expect("new key opens");
    let media = store.media_store(dir.path().join("media")).expect("media");
    assert_eq!(store.list_visits().expect("list").len(), 2);
    assert_intact(&mut store, &media, &before);
    assert_intact(&mut store, &media, &after);
    assert_eq!(store.pending_uploads().expect("queue").len(), 4);

    // A second re-key, back to the first key: keys are not tied to their first use.
    store.rekey(&old).expect("rekey again");
    drop(store);
    let mut store = Store::open_encrypted(db(dir.path()), &old).expect("old key opens again");
    let media = store.media_store(dir.path().join("media")).expect("media");
    assert_intact(&mut store, &media, &after);
}

#[test]
fn damaged_encrypted_media_is_refused_never_read_as_other_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open_encrypted(dir.path(), &StoreKey::random());
    let media = store.media_store(dir.path().join("media")).expect("media");
    let c = capture(&mut store, &media, dir.path(), 5);
    let video = media.original_path(&c.video.hash).expect("video file");
    let photo = media.original_path(&c.photo.hash).expect("photo file");
    let sealed = std::fs::read(&video).expect("raw");
    let damaged = |result: Result<Vec<u8>>| match result {
        Err(Error::MediaDamaged { hash, .. }) => hash,
        other => panic!("expected MediaDamaged, got {:?}", other.map(|b| b.len())),
    };
    let read_all = |hash: &MediaHash| -> Result<Vec<u8>> {
        let out = dir.path().join("export");
        media.export_original(hash, &out)?;
        Ok(std::fs::read(out)?)
    };

    // One flipped bit in the middle of the file.
    let mut flipped = sealed.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    std::fs::write(&video, &flipped).expect("tamper");
    assert_eq!(damaged(read_all(&c.video.hash)), c.video.hash.to_string());

    // Cut short: at a segment boundary and inside a segment.
    for len in [84 + 65_552, sealed.len() - 3] {
        std::fs::write(&video, &sealed[..len]).expect("truncate");
        let opened = media.open_original(&c.video.hash).map(|_| Vec::new());
        damaged(opened);
    }

    // Another file's bytes under this hash.
    std::fs::copy(&photo, &video).expect("swap");
    damaged(media.open_original(&c.video.hash).map(|_| Vec::new()));

    // A damaged thumbnail.
    let thumb = media.thumbnail_path(&c.photo.hash).expect("thumb");
    let mut bytes = std::fs::read(&thumb).expect("raw thumb");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&thumb, bytes).expect("tamper thumb");
    damaged(
        media
            .thumbnail_bytes(&c.photo.hash)
            .map(|t| t.unwrap_or_default()),
    );

    // Untouched: still fine.
    std::fs::write(&video, &sealed).expect("restore");
    assert!(read_all(&c.video.hash).expect("restored") == c.video_bytes);
}

#[test]
fn an_upload_can_resume_anywhere_in_an_encrypted_original() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open_encrypted(dir.path(), &StoreKey::random());
    let media = store.media_store(dir.path().join("media")).expect("media");
    let c = capture(&mut store, &media, dir.path(), 6);
    let mut reader = media
        .open_original(&c.video.hash)
        .expect("open")
        .expect("present");
    assert_eq!(reader.len(), c.video_bytes.len() as u64);
    for (offset, len) in [(0, 10), (65_535, 3), (131_072, 70_000), (500_000, 9)] {
        reader.seek(SeekFrom::Start(offset)).expect("seek");
        let mut buf = vec![0u8; len];
        reader.read_exact(&mut buf).expect("read");
        let at = offset as usize;
        assert!(buf == c.video_bytes[at..at + len], "at {offset}");
    }
    // The queue names the plaintext's hash and size, which the server checks.
    let item = store
        .upload_item(&c.video.hash)
        .expect("q")
        .expect("queued");
    assert_eq!(item.size, c.video_bytes.len() as u64);
    let (hash, _) = MediaStore::hash_reader(&c.video_bytes[..]).expect("hash");
    assert_eq!(hash, c.video.hash);
}

#[test]
fn adopting_a_recording_encrypts_it_and_deletes_the_plaintext() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open_encrypted(dir.path(), &StoreKey::random());
    let media = store.media_store(dir.path().join("media")).expect("media");
    let (_, recording) = evidence_files(dir.path(), 7);
    let bytes = std::fs::read(&recording).expect("bytes");

    let adopted = media.adopt_file(&recording).expect("adopt");
    assert!(!recording.exists(), "the plaintext recording is deleted");
    let stored = std::fs::read(media.original_path(&adopted.hash).expect("stored")).expect("raw");
    assert!(!contains(&stored, VIDEO_MARKER));
    assert!(original(&media, &adopted.hash) == bytes);
    assert_eq!(
        adopted.hash,
        MediaStore::hash_reader(&bytes[..]).expect("h").0
    );
}

#[test]
fn an_encrypted_store_refuses_a_media_folder_opened_without_its_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open_encrypted(dir.path(), &StoreKey::random());
    let visit = store
        .create_visit(new_visit(&template(), SITE))
        .expect("visit");
    let plain = MediaStore::open(dir.path().join("media")).expect("plain media");
    let (photo, _) = evidence_files(dir.path(), 8);
    let added = store.add_evidence(
        &visit,
        &plain,
        &photo,
        MediaCapture {
            kind: MediaKind::Photo,
            mime: "image/jpeg".into(),
            captured_at: None,
            location: None,
            poster: None,
        },
    );
    assert!(matches!(added, Err(Error::KeyRequired)), "{added:?}");
    assert!(files_under(&dir.path().join("media")).is_empty());
}
