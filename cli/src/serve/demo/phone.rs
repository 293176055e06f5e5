//! The demo's simulated phone: a core `Store` enrolled on the server, capturing visits with
//! generated photos (and a video when ffmpeg is installed), syncing and uploading.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use siteproof_core::media::{MediaStore, Network, thumbnail_jpeg};
use siteproof_core::{
    AnswerInput, AnswerValue, GeoPoint, MediaCapture, MediaKind, NewFinding, NewVisit, Profile,
    Scope, Site, Store, TemplateRef, VisitMode,
};

use super::{CREDIT_CODES, SITES, core_err, io};
use crate::CliError;

/// A small real photo: a PNG drawn here, made a JPEG by core's thumbnailer.
pub(super) fn photo(dir: &Path, n: usize) -> Result<PathBuf, CliError> {
    let (w, h) = (320u32, 240u32);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let stripe = ((x / 20 + y / 20 + n as u32) % 2) as u8;
            rgb.extend_from_slice(&[
                120 + stripe * 100,
                (x * 255 / w) as u8,
                ((y * 255 / h) as u8 / 2).wrapping_add((n as u8).wrapping_mul(40)),
            ]);
        }
    }
    let jpeg = thumbnail_jpeg(&crate::serve::png::encode_rgb(w, h, &rgb)).map_err(core_err)?;
    let path = dir.join(format!("photo-{n}.jpg"));
    std::fs::write(&path, jpeg).map_err(io(path.display().to_string()))?;
    Ok(path)
}

/// How the demo's phones describe a JPEG photo they take.
pub(super) fn photo_capture(location: Option<GeoPoint>) -> MediaCapture {
    MediaCapture {
        kind: MediaKind::Photo,
        mime: "image/jpeg".into(),
        captured_at: None,
        location,
        poster: None,
    }
}

/// A short WebM video made with ffmpeg when it is installed (`None` otherwise).
pub(super) fn video(dir: &Path) -> Option<PathBuf> {
    let path = dir.join("patrol.webm");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("testsrc=duration=8:size=320x240:rate=15")
        .args(["-c:v", "libvpx", "-b:v", "300k"])
        .arg(&path)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(path)
}

/// One simulated phone.
pub(super) struct Phone {
    pub(super) store: Store,
    pub(super) media: MediaStore,
}

impl Phone {
    pub(super) fn enroll(
        dir: &Path,
        base: &str,
        code: &str,
        inspector: &str,
    ) -> Result<Self, CliError> {
        std::fs::create_dir_all(dir).map_err(io(dir.display().to_string()))?;
        let mut store = Store::open(dir.join("phone.db")).map_err(core_err)?;
        store
            .set_profile(&Profile {
                inspector: inspector.into(),
                scope: Scope::default(),
            })
            .map_err(core_err)?;
        let client = siteproof_core::SyncClient::new(base).map_err(core_err)?;
        client
            .enroll(&mut store, code, inspector)
            .map_err(core_err)?;
        store.sync().map_err(core_err)?;
        let media = MediaStore::open(dir.join("media")).map_err(core_err)?;
        Ok(Self { store, media })
    }

    /// Opens a phone enrolled earlier in `dir`.
    pub(super) fn reopen(dir: &Path) -> Result<Self, CliError> {
        let store = Store::open(dir.join("phone.db")).map_err(core_err)?;
        let media = MediaStore::open(dir.join("media")).map_err(core_err)?;
        Ok(Self { store, media })
    }

    pub(super) fn upload(&mut self) -> Result<(), CliError> {
        let cancel = AtomicBool::new(false);
        self.store
            .upload(&self.media, Network::Unmetered, &cancel, &mut |_| {})
            .map_err(core_err)?;
        Ok(())
    }
}

/// Captures one covert visit on `phone`: every item answered, failed items as findings with
/// a photo each. Returns the visit id.
pub(super) fn capture(
    phone: &mut Phone,
    n: usize,
    files: &Path,
) -> Result<siteproof_core::RecordId, CliError> {
    let (site, address, template_id) = SITES[n % SITES.len()];
    let template = phone
        .store
        .template(&template_id.parse().map_err(core_err)?, 1)
        .map_err(core_err)?;
    let location = Some(GeoPoint {
        lat: 38.04 + n as f64 * 0.01,
        lon: 114.51,
        accuracy_m: Some(8.0),
    });
    let visit = phone
        .store
        .create_visit(NewVisit {
            site: Site {
                name: site.into(),
                credit_code: CREDIT_CODES[n % SITES.len()].map(Into::into),
                address: address.into(),
                sector: template.sector,
            },
            mode: if n % 4 == 3 {
                VisitMode::Announced
            } else {
                VisitMode::Covert
            },
            team: vec!["张三".into(), "李四".into()],
            template: TemplateRef {
                id: template.id.clone(),
                version: template.version,
            },
            assignment: None,
            location,
        })
        .map_err(core_err)?;
    for (i, item) in template.items.iter().enumerate().take(8) {
        let failed = (i + n).is_multiple_of(4);
        let value = match (&item.answer, failed) {
            (siteproof_core::AnswerKind::PassFail, true) => AnswerValue::Fail,
            (siteproof_core::AnswerKind::PassFail, false) => AnswerValue::Pass,
            (siteproof_core::AnswerKind::Number { .. }, _) => AnswerValue::Number(i as f64),
            (siteproof_core::AnswerKind::Text, _) => AnswerValue::Text("现场已核实".into()),
            (siteproof_core::AnswerKind::Choice { choices }, _) => {
                AnswerValue::Choice(choices.first().cloned().unwrap_or_default())
            }
        };
        let mut media = vec![];
        if value == AnswerValue::Fail {
            let capture = photo_capture(location);
            let path = photo(files, n * 10 + i)?;
            let attached = phone
                .store
                .add_evidence(&visit, &phone.media, &path, capture)
                .map_err(core_err)?;
            media.push(attached.hash.clone());
            phone
                .store
                .add_finding(
                    &visit,
                    NewFinding {
                        description: item.text.zh.clone(),
                        severity: item.severity,
                        item: Some(item.id.clone()),
                        location,
                        media: media.clone(),
                        fixed_on_spot: false,
                        interim_measures: None,
                    },
                )
                .map_err(core_err)?;
        }
        phone
            .store
            .answer_item(
                &visit,
                &item.id,
                AnswerInput {
                    value,
                    note: None,
                    media,
                },
            )
            .map_err(core_err)?;
    }
    Ok(visit)
}

/// A visit captured `days_ago` days before today by another device of the phone's group
/// (a body camera's laptop, say): built as a document, merged into the phone as a peer's
/// changes, so the next sync pushes it through the protocol like any capture. The demo's
/// history of the last few days comes from these.
pub(super) fn earlier_visit(phone: &mut Phone, n: usize, days_ago: i64) -> Result<(), CliError> {
    let (site, address, template_id) = SITES[n % SITES.len()];
    backdated_visit(
        phone,
        &Backdated {
            site,
            credit_code: CREDIT_CODES[n % SITES.len()],
            address,
            template: template_id,
            days_ago,
            n,
            mode: if n.is_multiple_of(4) {
                VisitMode::Announced
            } else {
                VisitMode::Covert
            },
            failed: None,
        },
    )
}

/// A visit made `days_ago` days before today, as [`earlier_visit`] makes them.
pub(super) struct Backdated<'a> {
    /// Site name.
    pub site: &'a str,
    /// Its credit code, if the inspectors type one.
    pub credit_code: Option<&'a str>,
    /// Its address.
    pub address: &'a str,
    /// Template id (version 1).
    pub template: &'a str,
    /// How long ago.
    pub days_ago: i64,
    /// A number varying the answers and the hour.
    pub n: usize,
    /// Covert or announced.
    pub mode: VisitMode,
    /// The first so many items fail (`None`: every third, varied by `n`).
    pub failed: Option<usize>,
}

/// Builds a backdated visit as a document and merges it into the phone as a peer's changes.
pub(super) fn backdated_visit(phone: &mut Phone, spec: &Backdated<'_>) -> Result<(), CliError> {
    use std::collections::BTreeMap;

    use siteproof_core::{
        Answer, Finding, FindingId, RecordHeader, RecordId, RecordKind, Visit, now,
    };

    let Backdated {
        site,
        credit_code,
        address,
        template: template_id,
        days_ago,
        n,
        mode,
        failed: fail_first,
    } = *spec;
    let template = phone
        .store
        .template(&template_id.parse().map_err(core_err)?, 1)
        .map_err(core_err)?;
    let scope = phone.store.profile().map_err(core_err)?.scope;
    let device = phone.store.device_id().clone();
    let at = now() - days_ago * 86_400_000 - (n as i64 % 5) * 3_600_000;
    let mut answers = BTreeMap::new();
    let mut findings = BTreeMap::new();
    for (i, item) in template.items.iter().enumerate().take(6) {
        let failed = match fail_first {
            Some(k) => i < k,
            None => (i + n + days_ago as usize).is_multiple_of(3),
        };
        let value = match (&item.answer, failed) {
            (siteproof_core::AnswerKind::PassFail, true) => AnswerValue::Fail,
            (siteproof_core::AnswerKind::PassFail, false) => AnswerValue::Pass,
            (siteproof_core::AnswerKind::Number { .. }, _) => AnswerValue::Number(1.0),
            (siteproof_core::AnswerKind::Text, _) => AnswerValue::Text("已核实".into()),
            (siteproof_core::AnswerKind::Choice { choices }, _) => {
                AnswerValue::Choice(choices.first().cloned().unwrap_or_default())
            }
        };
        if value == AnswerValue::Fail {
            let id = FindingId::random();
            findings.insert(
                id.to_string(),
                Finding {
                    id,
                    description: item.text.zh.clone(),
                    severity: item.severity,
                    item: Some(item.id.clone()),
                    location: None,
                    media: vec![],
                    fixed_on_spot: i % 2 == 1,
                    interim_measures: None,
                    by: "王五".into(),
                    device: device.clone(),
                    at,
                },
            );
        }
        answers.insert(
            item.id.to_string(),
            Answer {
                value,
                note: None,
                media: vec![],
                by: "王五".into(),
                device: device.clone(),
                at,
            },
        );
    }
    let visit = Visit {
        id: RecordId::random(),
        scope: scope.clone(),
        site: Site {
            name: site.into(),
            credit_code: credit_code.map(Into::into),
            address: address.into(),
            sector: template.sector,
        },
        mode,
        team: vec!["王五".into(), "赵六".into()],
        template: TemplateRef {
            id: template.id.clone(),
            version: template.version,
        },
        assignment: None,
        started_at: at,
        ended_at: Some(at + 5_400_000),
        location: None,
        answers,
        findings,
        media: BTreeMap::new(),
    };
    let header = RecordHeader {
        kind: RecordKind::Visit,
        id: visit.id.clone(),
        scope,
    };
    let mut doc = header
        .create(siteproof_core::ActorId::random())
        .map_err(core_err)?;
    autosurgeon::reconcile(&mut doc, &visit)
        .map_err(|e| CliError::Usage(format!("demo visit: {e}")))?;
    doc.commit();
    phone
        .store
        .merge(
            Some(&visit.id),
            &doc.save(),
            siteproof_core::MergeOrigin::Peer,
        )
        .map_err(core_err)?;
    Ok(())
}
