//! Media over a peer session: thumbnails always, originals on request; an original cut in the
//! middle is completed by the next session without starting over; bytes that do not match
//! their hash are refused and nothing of them is stored.

use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage};
use rand::{Rng, RngCore};
use siteproof_core::media::MediaStore;
use siteproof_core::peer::Originals;
use siteproof_core::{Error, MediaCapture, MediaKind, MediaRef, Store};
use siteproof_tests::peer::{Damage, Side, exchange_media};
use siteproof_tests::server::TestServer;

struct Phone {
    store: Store,
    media: MediaStore,
}

fn phone(server: &TestServer, group: &siteproof_server::GroupId, dir: &Path, name: &str) -> Phone {
    let store = server.enroll_store(group, &dir.join(format!("{name}.db")), name);
    let media = MediaStore::open(dir.join(format!("{name}-media"))).expect("media");
    Phone { store, media }
}

fn write_photo(path: &Path, rng: &mut impl Rng) {
    let img = RgbImage::from_fn(400, 300, |_, _| Rgb([rng.random(), rng.random(), 90]));
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), 90)
        .write_image(img.as_raw(), 400, 300, image::ExtendedColorType::Rgb8)
        .expect("encode");
    std::fs::write(path, bytes).expect("write photo");
}

fn capture(kind: MediaKind, mime: &str) -> MediaCapture {
    MediaCapture {
        kind,
        mime: mime.into(),
        captured_at: None,
        location: None,
        poster: None,
    }
}

/// A phone with a visit holding a photo and a 9 MiB video, and a teammate holding neither.
fn setup(
    dir: &Path,
    server: &TestServer,
    rng: &mut impl RngCore,
) -> (Phone, Phone, MediaRef, MediaRef) {
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(3);
    server.publish_template(&template);
    let mut a = phone(server, &group, dir, "a");
    let b = phone(server, &group, dir, "b");
    let visit = a
        .store
        .create_visit(siteproof_tests::new_visit(&template, "隧道"))
        .expect("visit");
    let photo_path = dir.join("photo.jpg");
    write_photo(&photo_path, rng);
    let photo = a
        .store
        .add_evidence(
            &visit,
            &a.media,
            &photo_path,
            capture(MediaKind::Photo, "image/jpeg"),
        )
        .expect("photo");
    let mut footage = vec![0u8; 9 << 20];
    rng.fill_bytes(&mut footage);
    let video_path = dir.join("video.mp4");
    std::fs::write(&video_path, &footage).expect("video");
    let video = a
        .store
        .add_evidence(
            &visit,
            &a.media,
            &video_path,
            capture(MediaKind::Video, "video/mp4"),
        )
        .expect("video");
    (a, b, photo, video)
}

fn session(a: &mut Phone, b: &mut Phone, damage: Damage, b_wants: Originals) -> (Side, Side) {
    exchange_media(
        &mut a.store,
        &mut b.store,
        damage,
        Some((a.media.clone(), Originals::None)),
        Some((b.media.clone(), b_wants)),
    )
}

#[test]
fn thumbnails_always_originals_on_request_and_a_cut_original_resumes_in_the_next_session() {
    let (seed, mut rng) = siteproof_tests::seeded_rng("peer media");
    println!("seed {seed}");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let (mut a, mut b, photo, video) = setup(dir.path(), &server, &mut rng);

    // Thumbnails come with the records; originals only on request.
    let sides = session(&mut a, &mut b, Damage::None, Originals::None);
    assert!(
        sides.0.result.is_ok() && sides.1.result.is_ok(),
        "{:?}",
        sides.1.result
    );
    assert!(
        b.media.thumbnail_path(&photo.hash).is_some(),
        "the photo's thumbnail arrived"
    );
    assert!(b.media.original_path(&photo.hash).is_none());
    assert!(b.media.original_path(&video.hash).is_none());

    // Cut while the video travels: no original is stored half, its bytes so far are kept.
    let cut_at = rng.random_range((3 << 20)..(7 << 20));
    let sides = session(
        &mut a,
        &mut b,
        Damage::Cut { after: cut_at },
        Originals::All,
    );
    assert!(
        sides.1.result.is_err(),
        "seed {seed}: the cut went unnoticed"
    );
    assert!(
        b.media.original_path(&video.hash).is_none(),
        "no partial original is stored"
    );
    let held = b.store.peer_media_held(&video.hash).expect("held");
    assert!(
        held > 0 && held < video.size,
        "seed {seed}: {held} bytes held"
    );

    // The next session asks for the rest only and completes it, verified.
    let sides = session(&mut a, &mut b, Damage::None, Originals::All);
    assert!(sides.1.result.is_ok(), "{:?}", sides.1.result);
    assert!(
        sides.1.summary.bytes_received < video.size + photo.size - held + (1 << 20),
        "resumed, not started over: {} bytes",
        sides.1.summary.bytes_received
    );
    for m in [&photo, &video] {
        let path = b.media.original_path(&m.hash).expect("original stored");
        assert_eq!(
            MediaStore::hash_file(path).expect("hash"),
            (m.hash.clone(), m.size)
        );
        assert!(b.store.media_info(&m.hash).expect("info").is_some());
        assert_eq!(b.store.peer_media_held(&m.hash).expect("held"), 0);
    }
}

#[test]
fn an_original_whose_bytes_do_not_match_its_hash_is_refused_and_nothing_is_stored() {
    let (seed, mut rng) = siteproof_tests::seeded_rng("peer media flip");
    println!("seed {seed}");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let (mut a, mut b, photo, video) = setup(dir.path(), &server, &mut rng);
    // The sender's file is damaged on its disk: the channel carries the wrong bytes intact.
    let path = a.media.original_path(&video.hash).expect("original");
    let mut bytes = std::fs::read(&path).expect("read");
    let at = rng.random_range(0..bytes.len());
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).expect("flip");

    let sides = session(
        &mut a,
        &mut b,
        Damage::None,
        Originals::Only(vec![video.hash.clone()]),
    );
    assert!(
        matches!(sides.1.result, Err(Error::PeerRefused(_))),
        "seed {seed}: {:?}",
        sides.1.result
    );
    assert!(
        b.media.original_path(&video.hash).is_none(),
        "nothing stored"
    );
    assert!(b.store.media_info(&video.hash).expect("info").is_none());
    assert_eq!(
        b.store.peer_media_held(&video.hash).expect("held"),
        0,
        "pieces dropped"
    );
    assert!(
        b.media.original_path(&photo.hash).is_none(),
        "not asked for"
    );
}
