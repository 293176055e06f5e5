//! `siteproof client --home DIR ...`: a supervision group's laptop client on the same core as
//! the phone. The store is `DIR/siteproof.db`, media files live under `DIR/media`.
//! Every command is blocking (disk and network); `main` runs it off the async runtime.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use siteproof_core::media::{MediaStore, Network};
use siteproof_core::{
    AnswerInput, AnswerValue, CollectionKind, MediaCapture, MediaHash, MediaKind, NewFinding,
    NewReinspection, NewVisit, Profile, RecordId, ReinspectionOutcome, Sector, Severity, Site,
    Store, SyncClient, TemplateRef, VisitFromAssignment, VisitFromEnterprise,
};

use crate::CliError;

mod args;
mod discovery;
mod peer;

pub use args::ClientArgs;
use args::{ClientCommand, Collect, Outcome, Sev};

/// Runs one client command (blocking).
pub fn run(args: ClientArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.home).map_err(|e| io("cannot create the client folder", e))?;
    let mut store = Store::open(args.home.join("siteproof.db"))?;
    match args.command {
        ClientCommand::Enroll {
            server,
            code,
            inspector,
            device_name,
        } => {
            let scope = store.profile()?.scope;
            store.set_profile(&Profile { inspector, scope })?;
            let e = SyncClient::new(&server)?.enroll(&mut store, &code, &device_name)?;
            let summary = store.sync()?;
            println!(
                "enrolled as device {} in group {} ({})",
                e.device_id, e.group, e.region
            );
            println!("{}", json(&summary));
        }
        ClientCommand::Templates => println!("{}", json(&store.list_templates()?)),
        ClientCommand::Create {
            site,
            address,
            credit_code,
            enterprise,
            sector,
            template,
            template_version,
            mode,
            team,
        } => {
            let sector = sector
                .map(|s| {
                    Sector::from_code(&s)
                        .ok_or_else(|| CliError::Usage(format!("unknown sector {s:?}")))
                })
                .transpose()?;
            let template = TemplateRef {
                id: template.parse()?,
                version: template_version,
            };
            let id = match (enterprise, site, sector) {
                (Some(code), _, sector) => store.start_visit_from_enterprise(
                    &code,
                    VisitFromEnterprise {
                        mode: mode.visit_mode(),
                        team,
                        template,
                        sector,
                        location: None,
                    },
                )?,
                (None, Some(name), Some(sector)) => store.create_visit(NewVisit {
                    site: Site {
                        name,
                        credit_code,
                        address,
                        sector,
                    },
                    mode: mode.visit_mode(),
                    team,
                    template,
                    assignment: None,
                    location: None,
                })?,
                (None, _, _) => {
                    return Err(CliError::Usage(
                        "give --enterprise, or --site and --sector".into(),
                    ));
                }
            };
            println!("{id}");
        }
        ClientCommand::Enterprises { search, limit } => {
            println!("{}", json(&store.directory(search.as_deref(), limit)?));
        }
        ClientCommand::Assignments => println!("{}", json(&store.assignments()?)),
        ClientCommand::Start {
            assignment,
            template,
            template_version,
            mode,
            team,
        } => {
            let template = template
                .map(|t| {
                    Ok::<_, CliError>(TemplateRef {
                        id: t.parse()?,
                        version: template_version,
                    })
                })
                .transpose()?;
            let id = store.start_visit_from_assignment(
                &assignment.parse()?,
                VisitFromAssignment {
                    mode: mode.visit_mode(),
                    team,
                    template,
                    location: None,
                },
            )?;
            println!("{id}");
        }
        ClientCommand::Collect { kind, title, body } => {
            let kind = match kind {
                Collect::WorkUpdate => CollectionKind::WorkUpdate,
                Collect::Practice => CollectionKind::Practice,
            };
            println!("{}", store.write_collection(kind, &title, &body, vec![])?);
        }
        ClientCommand::Collections => println!("{}", json(&store.collections()?)),
        ClientCommand::Answer {
            visit,
            item,
            value,
            note,
        } => {
            let input = AnswerInput {
                value: parse_value(&value)?,
                note,
                media: vec![],
            };
            store.answer_item(&visit.parse()?, &item.parse()?, input)?;
        }
        ClientCommand::Finding {
            visit,
            description,
            severity,
            item,
            fixed,
            interim,
        } => {
            let id = store.add_finding(
                &visit.parse()?,
                NewFinding {
                    description,
                    severity: match severity {
                        Sev::Major => Severity::Major,
                        Sev::General => Severity::General,
                    },
                    item: item.map(|i| i.parse()).transpose()?,
                    location: None,
                    media: vec![],
                    fixed_on_spot: fixed,
                    interim_measures: interim,
                },
            )?;
            println!("{id}");
        }
        ClientCommand::List => {
            println!("{}", json(&store.list_visits()?));
            for u in store.unreadable_records()? {
                eprintln!("unreadable {} {}: {} {}", u.kind, u.id, u.path, u.reason);
            }
        }
        ClientCommand::Show { visit } => {
            let id: RecordId = visit.parse()?;
            if let Some(u) = store.unreadable_record(&id)? {
                println!("{}", json(&serde_json::json!({ "unreadable": u })));
                return Ok(());
            }
            let out = serde_json::json!({
                "visit": store.visit(&id)?,
                "conflicts": store.conflicts(&id)?,
            });
            println!("{}", json(&out));
        }
        ClientCommand::Sync => println!("{}", json(&store.sync()?)),
        ClientCommand::Peer { command } => peer::run(&mut store, &args.home, command)?,
        ClientCommand::Upload { visit, files } => {
            attach(&mut store, &args.home, &visit.parse()?, &files)?;
            send(&mut store, &args.home)?
        }
        ClientCommand::Reinspection { assignment, visit } => {
            let visit = visit.map(|v| v.parse()).transpose()?;
            let tasks = store.reinspection_tasks(&assignment.parse()?, visit.as_ref())?;
            println!("{}", json(&tasks));
        }
        ClientCommand::Reinspect {
            visit,
            case,
            outcome,
            note,
            files,
        } => {
            let visit: RecordId = visit.parse()?;
            let media = attach(&mut store, &args.home, &visit, &files)?;
            let input = NewReinspection {
                case: case.parse()?,
                outcome: match outcome {
                    Outcome::Rectified => ReinspectionOutcome::Rectified,
                    Outcome::NotRectified => ReinspectionOutcome::NotRectified,
                },
                note,
                media,
            };
            println!("{}", store.record_reinspection(&visit, input)?);
            if !files.is_empty() {
                send(&mut store, &args.home)?;
            }
        }
    }
    Ok(())
}

/// Attaches files to a visit as evidence; returns their hashes.
fn attach(
    store: &mut Store,
    home: &Path,
    visit: &RecordId,
    files: &[PathBuf],
) -> Result<Vec<MediaHash>, CliError> {
    let media = MediaStore::open(home.join("media"))?;
    let mut hashes = Vec::with_capacity(files.len());
    for file in files {
        let (kind, mime) = kind_of(file);
        let capture = MediaCapture {
            kind,
            mime: mime.into(),
            captured_at: None,
            location: None,
            poster: None,
        };
        let attached = store.add_evidence(visit, &media, file, capture)?;
        eprintln!(
            "{}: {} ({} bytes)",
            file.display(),
            attached.hash,
            attached.size
        );
        hashes.push(attached.hash);
    }
    Ok(hashes)
}

/// Syncs, then uploads every queued file (resumable: run again after a cut).
fn send(store: &mut Store, home: &Path) -> Result<(), CliError> {
    let media = MediaStore::open(home.join("media"))?;
    // The server accepts a file only once a record it knows refers to it.
    store.sync()?;
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let cancel = AtomicBool::new(false);
    let run = store.upload(&media, Network::Unmetered, &cancel, &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    })?;
    bar.finish_and_clear();
    println!(
        "{} uploaded and verified, {} deferred, {} failed ({} bytes sent, {} chunk(s) re-sent)",
        run.completed.len(),
        run.deferred.len(),
        run.failed.len(),
        run.bytes_sent,
        run.chunks_resent
    );
    for (hash, why) in run.deferred.iter().chain(&run.failed) {
        eprintln!("{hash}: {why}");
    }
    if run.failed.is_empty() && run.deferred.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(
            "some files did not upload; run the command again to resume".into(),
        ))
    }
}

fn kind_of(file: &Path) -> (MediaKind, &'static str) {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => (MediaKind::Photo, "image/jpeg"),
        "png" => (MediaKind::Photo, "image/png"),
        "mp4" | "m4v" => (MediaKind::Video, "video/mp4"),
        "mov" => (MediaKind::Video, "video/quicktime"),
        "webm" => (MediaKind::Video, "video/webm"),
        "m4a" => (MediaKind::Audio, "audio/mp4"),
        "mp3" => (MediaKind::Audio, "audio/mpeg"),
        "wav" => (MediaKind::Audio, "audio/wav"),
        _ => (MediaKind::Video, "application/octet-stream"),
    }
}

fn parse_value(value: &str) -> Result<AnswerValue, CliError> {
    Ok(match value.split_once(':') {
        None if value == "pass" => AnswerValue::Pass,
        None if value == "fail" => AnswerValue::Fail,
        None if value == "na" => AnswerValue::NotApplicable,
        Some(("number", n)) => AnswerValue::Number(
            n.parse()
                .map_err(|_| CliError::Usage(format!("not a number: {n:?}")))?,
        ),
        Some(("text", t)) => AnswerValue::Text(t.into()),
        Some(("choice", c)) => AnswerValue::Choice(c.into()),
        _ => {
            return Err(CliError::Usage(format!(
                "unknown answer {value:?}: pass, fail, na, number:X, text:T, choice:C"
            )));
        }
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn io(context: &str, source: std::io::Error) -> CliError {
    CliError::Io {
        context: context.into(),
        source,
    }
}
