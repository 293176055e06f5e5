//! Peer sync between devices of one group over TCP loopback, then with the server: every
//! pairing and order converges and the server stores each change once; devices that cannot
//! prove current membership of the group are refused before any record is sent; damaged and
//! cut connections store nothing wrong and the next session completes; a peer offering what
//! it may not write is refused and nothing of it is stored.

use std::path::Path;

use siteproof_core::peer::{CertificateAuthority, DeviceCertificate, PeerSession};
use siteproof_core::{AnswerValue, Error, RecordId, Store, Template};
use siteproof_server::GroupId;
use siteproof_tests::answer;
use siteproof_tests::peer::{Damage, Side, exchange};
use siteproof_tests::server::TestServer;

struct Setup {
    dir: tempfile::TempDir,
    server: TestServer,
    group: GroupId,
    template: Template,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(10);
    server.publish_template(&template);
    Setup {
        dir,
        server,
        group,
        template,
    }
}

impl Setup {
    fn device(&self, name: &str) -> Store {
        self.device_in(&self.group, name)
    }

    fn device_in(&self, group: &GroupId, name: &str) -> Store {
        let path = self.dir.path().join(format!("{name}.db"));
        self.server.enroll_store(group, &path, name)
    }
}

fn assert_ok(sides: &(Side, Side)) {
    assert!(sides.0.result.is_ok(), "initiator: {:?}", sides.0.result);
    assert!(sides.1.result.is_ok(), "responder: {:?}", sides.1.result);
}

fn visit_ids(store: &Store) -> Vec<RecordId> {
    let mut ids: Vec<RecordId> = store
        .list_visits()
        .expect("list")
        .into_iter()
        .map(|v| v.id)
        .collect();
    ids.sort();
    ids
}

/// Number of distinct changes in a record, as this store holds it.
fn change_count(store: &mut Store, id: &RecordId) -> usize {
    let bytes = store.export_document(id).expect("export");
    siteproof_core::document::decode(&bytes, siteproof_core::ActorId::random())
        .expect("decode")
        .get_changes(&[])
        .len()
}

#[test]
fn three_devices_merge_in_every_pairing_order_then_the_server_stores_each_change_once() {
    let pairings = [(0, 1), (1, 2), (0, 2)];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for (round, order) in orders.iter().enumerate() {
        let s = setup();
        let mut devices: Vec<Store> = (0..3).map(|i| s.device(&format!("d{i}"))).collect();
        // A visit every device holds, then edited offline on each: a conflict on item i0.
        let shared = devices[0]
            .create_visit(siteproof_tests::new_visit(&s.template, "共同企业"))
            .expect("visit");
        devices[0].sync().expect("push");
        for d in &mut devices[1..] {
            d.sync().expect("pull");
        }
        let mut own = Vec::new();
        for (i, d) in devices.iter_mut().enumerate() {
            let value = if i % 2 == 0 {
                AnswerValue::Pass
            } else {
                AnswerValue::Fail
            };
            answer(d, &shared, "i0", value, &format!("device {i}"));
            answer(
                d,
                &shared,
                &format!("i{}", i + 1),
                AnswerValue::Pass,
                "own item",
            );
            let v = d
                .create_visit(siteproof_tests::new_visit(&s.template, &format!("企业{i}")))
                .expect("own visit");
            own.push(v);
        }
        for &k in order {
            let (a, b) = pairings[k];
            // Alternate who connects, so both roles carry records.
            let (x, y) = if round % 2 == 0 { (a, b) } else { (b, a) };
            let (first, second) = two(&mut devices, x, y);
            let sides = exchange(first, second, Damage::None);
            assert_ok(&sides);
        }
        let mut all = own.clone();
        all.push(shared.clone());
        all.sort();
        for (i, d) in devices.iter_mut().enumerate() {
            assert_eq!(
                visit_ids(d),
                all,
                "order {order:?}: device {i} lacks a visit"
            );
        }
        let reference = devices[0].visit(&shared).expect("visit");
        let conflicts = devices[0].conflicts(&shared).expect("conflicts");
        assert!(
            !conflicts.is_empty(),
            "the concurrent answers to i0 are kept as a conflict"
        );
        for d in &mut devices[1..] {
            assert_eq!(d.visit(&shared).expect("visit"), reference);
            assert_eq!(d.conflicts(&shared).expect("conflicts"), conflicts);
        }
        // Each device syncs: changes learned from peers go to the server once.
        for _ in 0..2 {
            for d in &mut devices {
                d.sync().expect("sync");
            }
        }
        let expected = change_count(&mut devices[0], &shared);
        for (i, d) in devices.iter_mut().enumerate() {
            assert_eq!(d.outbox_len().expect("outbox"), 0, "device {i} outbox");
            assert_eq!(change_count(d, &shared), expected, "device {i} changes");
            assert_eq!(d.visit(&shared).expect("visit"), reference);
        }
        let stored = s
            .server
            .block_on(s.server.state().storage.changes_after(&shared, 0))
            .expect("server changes");
        assert_eq!(stored.len(), expected, "the server stores each change once");
    }
}

fn two(devices: &mut [Store], x: usize, y: usize) -> (&mut Store, &mut Store) {
    assert_ne!(x, y);
    if x < y {
        let (l, r) = devices.split_at_mut(y);
        (&mut l[x], &mut r[0])
    } else {
        let (l, r) = devices.split_at_mut(x);
        (&mut r[0], &mut l[y])
    }
}

/// Asserts both sides failed (the good side refused) and no record went either way.
fn assert_refused_before_records(sides: &(Side, Side), good_is_initiator: bool, why: &str) {
    let good = if good_is_initiator {
        &sides.0
    } else {
        &sides.1
    };
    assert!(
        matches!(good.result, Err(Error::PeerRefused(_))),
        "{why}: the good side refuses: {:?}",
        good.result
    );
    for side in [&sides.0, &sides.1] {
        assert_eq!(side.summary.records_sent, 0, "{why}: records were sent");
        assert_eq!(side.summary.records_received, 0, "{why}: records received");
    }
    assert!(sides.1.result.is_err() && sides.0.result.is_err(), "{why}");
}

fn server_ca(s: &Setup) -> CertificateAuthority {
    let seed = s
        .server
        .block_on(s.server.state().storage.certificate_key_seed())
        .expect("seed");
    CertificateAuthority::from_seed(&seed)
}

/// Gives `store` a certificate made by `ca` for its own key, valid over `from..until`.
fn recertify(
    store: &mut Store,
    ca: &CertificateAuthority,
    server_key: [u8; 32],
    from: i64,
    until: i64,
) {
    let creds = store.peer_credentials().expect("credentials");
    let cert = creds
        .certificate
        .verify(&creds.server_key)
        .expect("own certificate");
    let mut forged = DeviceCertificate::new(
        cert.device,
        &cert.region,
        &cert.group,
        store.evidence_public_key().expect("key").expect("enrolled"),
        from,
    );
    forged.not_after = until;
    store
        .set_peer_trust(&ca.issue(&forged).to_bytes(), &server_key)
        .expect("trust");
}

#[test]
fn devices_that_cannot_prove_current_membership_are_refused_before_any_record() {
    let s = setup();
    let mut good = s.device("good");
    good.create_visit(siteproof_tests::new_visit(&s.template, "保密企业"))
        .expect("visit");
    let now = siteproof_core::model::now();

    let other_group = s.server.create_group("第二督导组");
    let mut stranger = s.device_in(&other_group, "stranger");
    stranger
        .create_visit(siteproof_tests::new_visit(&s.template, "别组企业"))
        .expect("visit");
    let sides = exchange(&mut stranger, &mut good, Damage::None);
    assert_refused_before_records(&sides, false, "another group");

    // Signed by a key of its own making, presenting itself as a member.
    let mut forger = s.device("forger");
    let fake = CertificateAuthority::from_seed(&[9; 32]);
    recertify(
        &mut forger,
        &fake,
        fake.public_key(),
        now - 1000,
        now + 100_000,
    );
    let sides = exchange(&mut good, &mut forger, Damage::None);
    assert_refused_before_records(&sides, true, "forged certificate");

    // A real certificate whose time is over.
    let mut expired = s.device("expired");
    let ca = server_ca(&s);
    recertify(&mut expired, &ca, ca.public_key(), now - 10_000, now - 1);
    let sides = exchange(&mut expired, &mut good, Damage::None);
    assert_refused_before_records(&sides, false, "expired certificate");

    // Revoked on the server; the good device learns it with its next sync.
    let mut revoked = s.device("revoked");
    let revoked_id = revoked
        .peer_credentials()
        .expect("creds")
        .certificate
        .verify(&ca.public_key())
        .expect("cert")
        .device;
    s.server
        .block_on(s.server.state().admin.revoke_device(&revoked_id))
        .expect("revoke");
    good.sync().expect("sync brings the revocation list");
    assert_eq!(good.revoked_devices().expect("list"), vec![revoked_id]);
    let sides = exchange(&mut revoked, &mut good, Damage::None);
    assert_refused_before_records(&sides, false, "revoked device");

    // A recorded initiator replayed to a fresh responder: the handshake fails.
    let mut teammate = s.device("teammate");
    let mut recorder = PeerSession::new(&teammate, true).expect("session");
    let first = recorder.take_output();
    let mut listener = PeerSession::new(&good, false).expect("session");
    listener.feed(&mut good, &first).expect("first message");
    let reply = listener.take_output();
    recorder.feed(&mut teammate, &reply).expect("reply");
    let third = recorder.take_output();
    let mut replayed = PeerSession::new(&good, false).expect("fresh session");
    replayed
        .feed(&mut good, &first)
        .expect("first message again");
    let _ = replayed.take_output();
    let result = replayed.feed(&mut good, &third);
    assert!(
        matches!(result, Err(Error::PeerRefused(_))),
        "replay refused: {result:?}"
    );
    assert_eq!(replayed.summary().records_sent, 0);
    assert!(replayed.summary().peer.is_none());
    assert_eq!(
        visit_ids(&good).len(),
        1,
        "nothing arrived on the good device"
    );
}

/// Two devices with different visits and a shared one edited on both.
fn diverged(s: &Setup) -> (Store, Store) {
    let mut a = s.device("a");
    let mut b = s.device("b");
    let shared = a
        .create_visit(siteproof_tests::new_visit(&s.template, "共同企业"))
        .expect("visit");
    a.sync().expect("push");
    b.sync().expect("pull");
    for i in 0..5 {
        let v = a
            .create_visit(siteproof_tests::new_visit(&s.template, &format!("甲{i}")))
            .expect("visit");
        answer(&mut a, &v, "i0", AnswerValue::Fail, "甲");
        b.create_visit(siteproof_tests::new_visit(&s.template, &format!("乙{i}")))
            .expect("visit");
    }
    answer(&mut a, &shared, "i1", AnswerValue::Pass, "甲");
    answer(&mut b, &shared, "i1", AnswerValue::Fail, "乙");
    (a, b)
}

fn assert_converged(a: &mut Store, b: &mut Store) {
    let ids = visit_ids(a);
    assert_eq!(ids, visit_ids(b));
    for id in &ids {
        assert_eq!(
            a.visit(id).expect("a"),
            b.visit(id).expect("b"),
            "visit {id}"
        );
    }
}

/// The bytes of a clean session between two diverged devices, each direction.
fn session_size() -> (u64, u64) {
    let s = setup();
    let (mut a, mut b) = diverged(&s);
    let (x, y) = exchange(&mut a, &mut b, Damage::None);
    assert!(x.result.is_ok() && y.result.is_ok());
    (x.summary.bytes_sent, y.summary.bytes_sent)
}

/// Runs a damaged session between two diverged devices: some side notices, whatever was
/// stored reads whole, and a clean session afterwards converges both, then the server.
fn damaged_then_clean(damage: Damage, seed: u64) {
    let s = setup();
    let (mut a, mut b) = diverged(&s);
    let sides = exchange(&mut a, &mut b, damage);
    assert!(
        sides.0.result.is_err() || sides.1.result.is_err(),
        "seed {seed}: {damage:?} went unnoticed"
    );
    for store in [&mut a, &mut b] {
        for id in visit_ids(store) {
            store.visit(&id).expect("stored visit reads");
        }
    }
    assert_ok(&exchange(&mut a, &mut b, Damage::None));
    assert_converged(&mut a, &mut b);
    a.sync().expect("sync");
    b.sync().expect("sync");
    assert_eq!(a.outbox_len().expect("outbox"), 0);
    assert_eq!(b.outbox_len().expect("outbox"), 0);
}

#[test]
fn a_byte_flipping_proxy_stores_nothing_wrong_and_the_next_session_completes() {
    let (seed, mut rng) = siteproof_tests::seeded_rng("peer byte flip");
    println!("seed {seed}");
    let (up, down) = session_size();
    for _ in 0..4 {
        let upstream = rand::Rng::random_bool(&mut rng, 0.5);
        let len = if upstream { up } else { down };
        let at = rand::Rng::random_range(&mut rng, 0..len * 9 / 10) as usize;
        damaged_then_clean(Damage::Flip { upstream, at }, seed);
    }
}

#[test]
fn a_cut_connection_leaves_whole_records_and_the_next_session_completes() {
    let (seed, mut rng) = siteproof_tests::seeded_rng("peer cut");
    println!("seed {seed}");
    let (up, down) = session_size();
    for _ in 0..4 {
        let after = rand::Rng::random_range(&mut rng, 0..(up + down) * 9 / 10) as usize;
        damaged_then_clean(Damage::Cut { after }, seed);
    }
}

/// Plays a modified app: rewrites a row of `store`'s records table so that its honest
/// session offers a record it should not.
fn tamper(path: &Path, sql: &str, id: &RecordId) {
    let conn = rusqlite::Connection::open(path).expect("open");
    assert_eq!(conn.execute(sql, [id.as_str()]).expect("tamper"), 1);
}

/// Applies `edits` to the closed store at `bad_path`, then lets it offer its records to
/// `good`, which must refuse.
fn offer_tampered(bad_path: &Path, good: &mut Store, edits: &[(&str, &RecordId)]) {
    for (sql, id) in edits {
        tamper(bad_path, sql, id);
    }
    let mut bad = Store::open(bad_path).expect("reopen");
    let sides = exchange(&mut bad, good, Damage::None);
    assert!(
        matches!(sides.1.result, Err(Error::PeerRefused(_))),
        "{:?}",
        sides.1.result
    );
}

#[test]
fn a_peer_offering_out_of_scope_records_or_an_office_kind_is_refused_and_nothing_is_stored() {
    let s = setup();
    let mut good = s.device("good");
    let template_id: RecordId = format!("template:{}@1", s.template.id).parse().expect("id");
    let template_heads = good.export_document(&template_id).expect("template");

    // A visit of another group, listed as this group's.
    let mut bad = s.device("bad");
    let other = s.server.create_group("第二督导组");
    let mut profile = bad.profile().expect("profile");
    let own_scope = profile.scope.clone();
    profile.scope.group = other.to_string();
    bad.set_profile(&profile).expect("profile");
    let foreign = bad
        .create_visit(siteproof_tests::new_visit(&s.template, "别组企业"))
        .expect("visit");
    profile.scope = own_scope;
    bad.set_profile(&profile).expect("profile");
    drop(bad);
    let bad_path = s.dir.path().join("bad.db");
    let own_group = format!("UPDATE records SET grp = '{}' WHERE id = ?1", s.group);
    offer_tampered(&bad_path, &mut good, &[(&own_group, &foreign)]);
    assert!(
        good.visit(&foreign).is_err(),
        "the foreign visit was not stored"
    );

    // The template, passed off as a visit: a peer may not write a back-office kind.
    let as_visit = format!(
        "UPDATE records SET kind = 'visit', region = 'hebei', grp = '{}' WHERE id = ?1",
        s.group
    );
    let back = format!("UPDATE records SET grp = '{other}' WHERE id = ?1");
    offer_tampered(
        &bad_path,
        &mut good,
        &[(&as_visit, &template_id), (&back, &foreign)],
    );
    assert_eq!(
        good.export_document(&template_id).expect("template"),
        template_heads,
        "the template is as the server sent it"
    );
    assert_eq!(good.outbox_len().expect("outbox"), 0);
}

#[test]
fn changes_written_by_a_revoked_device_are_refused_when_a_teammate_relays_them() {
    let s = setup();
    let mut a = s.device("a");
    let mut b = s.device("b");
    let mut c = s.device("c");
    let shared = a
        .create_visit(siteproof_tests::new_visit(&s.template, "共同企业"))
        .expect("visit");
    a.sync().expect("push");
    c.sync().expect("pull");
    b.sync().expect("pull");
    // C writes a visit of its own and edits the shared one; B learns both from C while C is
    // still a member.
    let from_c = c
        .create_visit(siteproof_tests::new_visit(&s.template, "丙企业"))
        .expect("visit");
    answer(&mut c, &shared, "i2", AnswerValue::Fail, "丙");
    assert_ok(&exchange(&mut c, &mut b, Damage::None));
    assert!(b.visit(&from_c).is_ok(), "B holds C's visit");
    let c_id = c
        .peer_credentials()
        .expect("creds")
        .certificate
        .verify(&server_ca(&s).public_key())
        .expect("cert")
        .device;
    s.server
        .block_on(s.server.state().admin.revoke_device(&c_id))
        .expect("revoke");
    a.sync().expect("A learns the revocation");
    let shared_before = a.visit(&shared).expect("shared");

    // The peer path: A refuses what C wrote, whoever brings it.
    let sides = exchange(&mut b, &mut a, Damage::None);
    assert!(
        matches!(sides.1.result, Err(Error::PeerRefused(_))),
        "A refuses: {:?}",
        sides.1.result
    );
    assert!(a.visit(&from_c).is_err(), "C's visit was not stored on A");
    assert_eq!(
        a.visit(&shared).expect("shared"),
        shared_before,
        "C's edit was not stored on A"
    );
    assert_eq!(a.outbox_len().expect("outbox"), 0);

    // The server path: B pushes them later; the server refuses and stores none of them.
    let changes_before = s
        .server
        .block_on(s.server.state().storage.changes_after(&shared, 0))
        .expect("changes")
        .len();
    let refused = b.sync();
    assert!(
        matches!(&refused, Err(Error::Server { status: 403, .. })),
        "{refused:?}"
    );
    let storage = &s.server.state().storage;
    assert!(
        s.server
            .block_on(storage.documents(std::slice::from_ref(&from_c)))
            .expect("documents")
            .is_empty(),
        "the server lacks C's visit"
    );
    assert_eq!(
        s.server
            .block_on(storage.changes_after(&shared, 0))
            .expect("changes")
            .len(),
        changes_before,
        "the server lacks C's edit"
    );
}

#[test]
fn a_certificate_near_its_end_is_renewed_at_the_next_sync() {
    let s = setup();
    let mut device = s.device("renewing");
    let ca = server_ca(&s);
    let own = |store: &Store| {
        store
            .peer_credentials()
            .expect("creds")
            .certificate
            .verify(&ca.public_key())
            .expect("the server's certificate")
    };
    let first = own(&device);
    device.sync().expect("sync");
    assert_eq!(own(&device), first, "a young certificate is kept");

    // The server's record says the device enrolled 160 days ago: its certificate is due.
    let day: i64 = 24 * 3600 * 1000;
    let conn = rusqlite::Connection::open(s.dir.path().join("server").join("siteproof.db"))
        .expect("server db");
    conn.execute(
        "UPDATE devices SET enrolled_at = enrolled_at - ?1 WHERE id = ?2",
        rusqlite::params![160 * day, first.device.as_str()],
    )
    .expect("age the device");
    std::thread::sleep(std::time::Duration::from_millis(5));
    device.sync().expect("sync");
    let renewed = own(&device);
    assert_eq!(renewed.device, first.device);
    assert_eq!(renewed.public_key, first.public_key);
    assert!(renewed.not_before > first.not_before, "issued anew");
    assert!(renewed.not_after > first.not_after, "valid for longer");

    // The renewed certificate is accepted by a teammate.
    let mut teammate = s.device("teammate");
    assert_ok(&exchange(&mut device, &mut teammate, Damage::None));
}
