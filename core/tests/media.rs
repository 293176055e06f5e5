//! Evidence media on the phone: import, dedup, thumbnails upright per EXIF, the upload queue
//! across restarts, eviction of verified originals.

use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, ImageReader, Rgb, RgbImage};
use siteproof_core::media::{MediaStore, Network, THUMBNAIL_MAX_PX, UploadPolicy, UploadState};
use siteproof_core::*;

fn template() -> Template {
    serde_json::from_str(
        r#"{
      "id": "gas-demo", "version": 1, "sector": "gas",
      "title": {"zh": "燃气检查", "en": "Gas check"},
      "source": {"document": "城镇燃气经营安全重大隐患判定标准", "reference": "demo"},
      "items": [{"id": "g-01", "text": {"zh": "报警器完好", "en": "Gas alarm works"},
                 "criterion": {"document": "城镇燃气经营安全重大隐患判定标准", "clause": "第三条"},
                 "severity": "major", "answer": {"kind": "pass_fail"}, "evidence_required": true}]
    }"#,
    )
    .expect("valid template")
}

fn store_with_visit(dir: &Path) -> (Store, RecordId) {
    let mut store = Store::open(dir.join("siteproof.db")).expect("open");
    store
        .set_profile(&Profile {
            inspector: "张三".into(),
            scope: Scope::group("hebei", "g1"),
        })
        .expect("profile");
    store.put_template(&template()).expect("template");
    let visit = store
        .create_visit(NewVisit {
            site: Site {
                name: "某燃气站".into(),
                credit_code: None,
                address: "石家庄".into(),
                sector: Sector::Gas,
            },
            mode: VisitMode::Covert,
            team: vec!["张三".into()],
            template: TemplateRef {
                id: "gas-demo".parse().expect("id"),
                version: 1,
            },
            assignment: None,
            location: None,
        })
        .expect("visit");
    (store, visit)
}

/// A TIFF-structured EXIF block holding only an orientation tag.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut exif = b"MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&1u16.to_be_bytes()); // one entry
    exif.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    exif.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    exif.extend_from_slice(&1u32.to_be_bytes()); // count
    exif.extend_from_slice(&value.to_be_bytes());
    exif.extend_from_slice(&[0, 0]);
    exif.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    exif
}

/// A landscape photo, red on its left half and blue on its right, stored sideways the way a
/// phone held upright stores it: EXIF orientation 6 (rotate 90° clockwise to display).
fn sideways_photo(path: &Path, width: u32, height: u32) {
    let img = RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    let mut bytes = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(Cursor::new(&mut bytes), 90);
    encoder
        .set_exif_metadata(exif_orientation(6))
        .expect("exif supported");
    encoder
        .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .expect("encode");
    std::fs::write(path, bytes).expect("write photo");
}

fn photo_capture() -> MediaCapture {
    MediaCapture {
        kind: MediaKind::Photo,
        mime: "image/jpeg".into(),
        captured_at: None,
        location: None,
        poster: None,
    }
}

#[test]
fn photo_thumbnail_is_upright_per_exif_and_fits_320_px() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, visit) = store_with_visit(dir.path());
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let photo = dir.path().join("photo.jpg");
    sideways_photo(&photo, 1280, 640);

    let media_ref = store
        .add_evidence(&visit, &media, &photo, photo_capture())
        .expect("import");

    let thumb_path = media
        .thumbnail_path(&media_ref.hash)
        .expect("thumbnail made");
    let thumb = ImageReader::open(thumb_path)
        .expect("open")
        .decode()
        .expect("decode")
        .into_rgb8();
    // Rotated: the landscape original becomes a portrait thumbnail, 320 px on its long side.
    assert_eq!(
        (thumb.width(), thumb.height()),
        (THUMBNAIL_MAX_PX / 2, THUMBNAIL_MAX_PX)
    );
    // The original's left (red) half is now on top, its right (blue) half at the bottom.
    let top = thumb.get_pixel(thumb.width() / 2, 10);
    let bottom = thumb.get_pixel(thumb.width() / 2, thumb.height() - 10);
    assert!(top[0] > 150 && top[2] < 100, "top is red: {top:?}");
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "bottom is blue: {bottom:?}"
    );

    let info = store
        .media_info(&media_ref.hash)
        .expect("query")
        .expect("row");
    assert!(info.has_thumbnail && info.original_present);
    assert_eq!(info.kind, MediaKind::Photo);
    assert_eq!(
        store.visit(&visit).expect("visit").media[media_ref.hash.as_str()],
        media_ref
    );
}

#[test]
fn importing_the_same_bytes_twice_stores_one_file_with_its_sha256_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let source = dir.path().join("clip.mp4");
    std::fs::write(&source, &data).expect("write");

    let first = media.import_file(&source).expect("first");
    let second = media.import_file(&source).expect("second");

    use sha2::Digest;
    let expected = hex::encode(sha2::Sha256::digest(&data));
    assert_eq!(first.hash.as_str(), expected);
    assert_eq!(first.size, data.len() as u64);
    assert!(first.new && !second.new);
    assert_eq!(first.hash, second.hash);
    let stored = media.original_path(&first.hash).expect("stored");
    assert_eq!(
        stored.file_name().and_then(|n| n.to_str()),
        Some(expected.as_str())
    );
    assert_eq!(std::fs::read(stored).expect("read"), data);
    let originals = std::fs::read_dir(dir.path().join("media/originals"))
        .expect("dir")
        .count();
    let staging = std::fs::read_dir(dir.path().join("media/staging"))
        .expect("dir")
        .count();
    assert_eq!((originals, staging), (1, 0));
}

#[test]
fn a_video_gets_its_thumbnail_from_the_poster_the_app_passes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, visit) = store_with_visit(dir.path());
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let video = dir.path().join("clip.mp4");
    std::fs::write(&video, b"not really a video, but bytes all the same").expect("write");
    let poster = dir.path().join("poster.png");
    RgbImage::from_pixel(1920, 1080, Rgb([0, 200, 0]))
        .save(&poster)
        .expect("poster");

    let capture = MediaCapture {
        kind: MediaKind::Video,
        mime: "video/mp4".into(),
        poster: Some(poster),
        ..photo_capture()
    };
    let media_ref = store
        .add_evidence(&visit, &media, &video, capture)
        .expect("import");

    let thumb = image::open(media.thumbnail_path(&media_ref.hash).expect("thumb")).expect("decode");
    assert_eq!((thumb.width(), thumb.height()), (320, 180));
    let item = store
        .upload_item(&media_ref.hash)
        .expect("query")
        .expect("queued");
    assert_eq!(
        (item.state, item.offset, item.record),
        (UploadState::Pending, 0, visit)
    );
}

#[test]
fn a_photo_that_cannot_be_decoded_is_still_kept_as_evidence() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, visit) = store_with_visit(dir.path());
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"\xff\xd8\xff garbage").expect("write");

    let media_ref = store
        .add_evidence(&visit, &media, &broken, photo_capture())
        .expect("kept");

    assert!(media.original_path(&media_ref.hash).is_some());
    assert!(media.thumbnail_path(&media_ref.hash).is_none());
    assert!(
        !store
            .media_info(&media_ref.hash)
            .expect("q")
            .expect("row")
            .has_thumbnail
    );
}

#[test]
fn upload_queue_progress_survives_reopening_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, visit) = store_with_visit(dir.path());
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, vec![7u8; 1000]).expect("write");
    let capture = MediaCapture {
        kind: MediaKind::Video,
        mime: "video/mp4".into(),
        ..photo_capture()
    };
    let media_ref = store
        .add_evidence(&visit, &media, &clip, capture)
        .expect("import");
    store
        .set_upload_url(&media_ref.hash, Some("http://127.0.0.1:1/v1/uploads/abc"))
        .expect("url");
    store
        .set_upload_offset(&media_ref.hash, 512)
        .expect("offset");
    drop(store);

    let store = Store::open(dir.path().join("siteproof.db")).expect("reopen");
    let pending = store.pending_uploads().expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].offset, 512);
    assert_eq!(
        pending[0].upload_url.as_deref(),
        Some("http://127.0.0.1:1/v1/uploads/abc")
    );
    assert_eq!(pending[0].policy, UploadPolicy::Any);
    assert!(pending[0].policy.allows(Network::Metered));
}

#[test]
fn evicting_removes_only_verified_originals_and_keeps_thumbnails() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, visit) = store_with_visit(dir.path());
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let (a, b) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
    sideways_photo(&a, 64, 32);
    sideways_photo(&b, 96, 32);
    let verified = store
        .add_evidence(&visit, &media, &a, photo_capture())
        .expect("a");
    let unverified = store
        .add_evidence(&visit, &media, &b, photo_capture())
        .expect("b");
    store.mark_media_verified(&verified.hash).expect("verified");

    let eviction = store.evict_verified_media(&media, 0).expect("evict");

    assert_eq!((eviction.files, eviction.bytes), (1, verified.size));
    assert!(media.original_path(&verified.hash).is_none());
    assert!(media.thumbnail_path(&verified.hash).is_some());
    assert!(media.original_path(&unverified.hash).is_some());
    let info = store.media_info(&verified.hash).expect("q").expect("row");
    assert!(!info.original_present && info.verified_at.is_some());
    let done = store.upload_item(&verified.hash).expect("q").expect("row");
    assert_eq!(
        (done.state, done.offset),
        (UploadState::Done, verified.size)
    );
    assert_eq!(store.pending_uploads().expect("pending").len(), 1);
    // Evicting again finds nothing more to free.
    assert_eq!(
        store.evict_verified_media(&media, 0).expect("again"),
        Eviction::default()
    );
}

/// Eviction's quick half takes the original out of the store at once: the row says evicted
/// and the original is gone from the media folder before its bytes are freed, so an import of
/// the same bytes meanwhile stores a new copy that the later deletion does not touch.
#[test]
fn a_detached_original_is_out_of_the_store_before_its_space_is_freed() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, visit) = store_with_visit(dir.path());
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let photo = dir.path().join("a.jpg");
    sideways_photo(&photo, 64, 32);
    let first = store
        .add_evidence(&visit, &media, &photo, photo_capture())
        .expect("a");
    store.mark_media_verified(&first.hash).expect("verified");

    let detached = store.detach_verified_media(&media, 0).expect("detach");

    assert_eq!(detached.len(), 1);
    assert!(media.original_path(&first.hash).is_none());
    let info = store.media_info(&first.hash).expect("q").expect("row");
    assert!(!info.original_present);
    let again = store
        .add_evidence(&visit, &media, &photo, photo_capture())
        .expect("the same bytes again");
    assert_eq!(again.hash, first.hash);
    let eviction = Eviction::delete(detached).expect("delete");
    assert_eq!((eviction.files, eviction.bytes), (1, first.size));
    assert!(
        media.original_path(&first.hash).is_some(),
        "the new copy stays"
    );
    let staging: Vec<_> = std::fs::read_dir(dir.path().join("media").join("staging"))
        .expect("staging")
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
}

#[test]
fn adopting_a_recording_moves_it_under_its_hash_without_a_copy() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut store, visit) = store_with_visit(dir.path());
    let media = MediaStore::open(dir.path().join("media")).expect("media");
    let recording = dir.path().join("recording.mp4");
    let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&recording, &data).expect("write");
    let duplicate = dir.path().join("duplicate.mp4");
    std::fs::write(&duplicate, &data).expect("write");

    let adopted = media.adopt_file(&recording).expect("adopt");
    let again = media.adopt_file(&duplicate).expect("adopt duplicate");

    assert!(adopted.new && !again.new);
    assert_eq!(adopted.hash, again.hash);
    assert!(
        !recording.exists() && !duplicate.exists(),
        "both sources taken over"
    );
    let stored = media.original_path(&adopted.hash).expect("stored");
    assert_eq!(std::fs::read(stored).expect("read"), data);
    let capture = MediaCapture {
        kind: MediaKind::Video,
        mime: "video/mp4".into(),
        ..photo_capture()
    };
    let media_ref = store
        .record_media(&media, &adopted, capture)
        .expect("record");
    store.attach_media(&visit, &media_ref).expect("attach");
    assert_eq!(media_ref.size, data.len() as u64);
    assert!(
        store
            .media_info(&adopted.hash)
            .expect("q")
            .expect("row")
            .original_present
    );
}
