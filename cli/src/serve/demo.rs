//! `siteproof serve --demo`: seeds a demo region (groups, back-office users, the templates of
//! `content/templates/`), then lets simulated phones (core `Store`s) enroll, capture covert
//! visits with photos and a video, sync and upload through the real protocol against the
//! server just started, and prints the URL and the logins.

use std::path::{Path, PathBuf};

use siteproof_core::{AnswerInput, AnswerValue, MediaCapture, MediaKind, Template};
use siteproof_server::Services;
use siteproof_server::backoffice::{NewUser, Role};

use crate::CliError;

mod content;
mod enterprises;
mod ledger;
mod phone;
mod reinspection;
mod supervision;

use phone::{Phone, capture, earlier_visit, photo, video};

/// The demo region.
pub const REGION: &str = "shijiazhuang";
/// Every demo user's password.
pub const PASSWORD: &str = "siteproof-demo";
/// Demo users: login, name, role, sectors.
const USERS: &[(&str, &str, Role, &[siteproof_core::Sector])] = &[
    ("admin", "管理员", Role::Admin, &[]),
    ("reviewer", "安委办审核员", Role::Reviewer, &[]),
    (
        "fire",
        "消防部门",
        Role::SectorDepartment,
        &[siteproof_core::Sector::FireSafety],
    ),
];
/// Demo groups: id, name.
const GROUPS: &[(&str, &str)] = &[("sjz-1", "第一督导组"), ("sjz-2", "第二督导组")];
/// Sites visited: name, address, template id.
const SITES: &[(&str, &str, &str)] = &[
    ("长安区某商场", "石家庄市长安区中山东路", "fire-major"),
    ("藁城区某化工厂", "石家庄市藁城区化工园区", "hazchem-major"),
    ("井陉矿区某煤矿", "石家庄市井陉矿区", "coal-mine-major"),
    ("新华区某燃气站", "石家庄市新华区", "gas-operator-major"),
    ("裕华区某建筑工地", "石家庄市裕华区", "construction-major"),
    ("桥西区某宾馆", "石家庄市桥西区", "fire-major"),
];

/// The credit codes the inspectors type for the sites (check characters per GB 32100-2015),
/// by index. The guesthouse's inspectors type only its name: the reviewer merges that site
/// into its registered enterprise (`demo/enterprises.rs`), code [`GUESTHOUSE_CODE`].
const CREDIT_CODES: [Option<&str>; 6] = [
    Some("911301000000010003"),
    Some("911301000000010016"),
    Some("911301000000010029"),
    Some("91130100000001003C"),
    Some("91130100000001004F"),
    None,
];

/// The registered credit code of the guesthouse (site 5), typed on none of its visits.
const GUESTHOUSE_CODE: &str = "91130100000001005J";

/// The registered credit code of site `n`.
fn site_code(n: usize) -> &'static str {
    CREDIT_CODES[n % SITES.len()].unwrap_or(GUESTHOUSE_CODE)
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
    let context = context.into();
    move |source| CliError::Io { context, source }
}

fn core_err(e: siteproof_core::Error) -> CliError {
    CliError::Usage(format!("demo phone: {e}"))
}

/// Seeds what lives on the server side: templates, groups, users, enrollment codes.
/// Returns one enrollment code per phone (two per group), or `None` when the data directory
/// was seeded before.
async fn seed_server(state: &Services, templates: &Path) -> Result<Option<Vec<String>>, CliError> {
    let office = &state.backoffice;
    for (login, name, role, sectors) in USERS {
        let made = office
            .create_user(NewUser {
                login: (*login).into(),
                name: (*name).into(),
                password: PASSWORD.into(),
                role: *role,
                region: REGION.into(),
                sectors: sectors.to_vec(),
            })
            .await;
        if let Err(siteproof_server::Error::Conflict(_)) = made {
            return Ok(None);
        }
        made?;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(templates)
        .map_err(io(format!("cannot read {}", templates.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).map_err(io(path.display().to_string()))?;
        let template: Template = serde_json::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        match state.admin.publish_template(&template).await {
            Ok(_) | Err(siteproof_server::Error::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut codes = Vec::new();
    for (id, name) in GROUPS {
        let group = id
            .parse()
            .map_err(|_| CliError::Usage(format!("bad group id {id}")))?;
        let region = REGION
            .parse()
            .map_err(|_| CliError::Usage("bad region".into()))?;
        state.admin.create_group(region, name, Some(group)).await?;
        for _ in 0..2 {
            let group = id
                .parse()
                .map_err(|_| CliError::Usage(format!("bad group id {id}")))?;
            let code = state
                .admin
                .issue_enrollment_code(&group, std::time::Duration::from_secs(3600))
                .await?;
            codes.push(code.code);
        }
    }
    content::seed(office).await?;
    Ok(Some(codes))
}

/// Runs the phones (blocking): two per group; the first visit of group 1 gets a video, a
/// conflicting answer from the second phone, and one photo left pending (never uploaded).
fn run_phones(base: &str, codes: &[String], dir: &Path) -> Result<usize, CliError> {
    let files = dir.join("captures");
    std::fs::create_dir_all(&files).map_err(io(files.display().to_string()))?;
    let names = ["张三", "李四", "王五", "赵六"];
    let mut phones = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        phones.push(Phone::enroll(
            &dir.join(format!("phone-{i}")),
            base,
            code,
            names[i % 4],
        )?);
    }
    // The last four days: three visits a day per group, pushed by each group's first phone.
    let mut visits = 0;
    for days_ago in 1..=4 {
        for (g, phone) in [0, 2].into_iter().enumerate() {
            for k in 0..3 {
                earlier_visit(&mut phones[phone], days_ago as usize * 3 + k + g, days_ago)?;
                visits += 1;
            }
        }
    }
    for phone in [0, 2] {
        phones[phone].store.sync().map_err(core_err)?;
    }
    visits += answer_pushes(&mut phones)?;
    visits += supervision::history(&mut phones[0])?;
    for n in 0..SITES.len() {
        let phone = &mut phones[(n % 2) * 2];
        let visit = capture(phone, n, &files)?;
        if n == 0
            && let Some(path) = video(&files)
        {
            let capture = MediaCapture {
                kind: MediaKind::Video,
                mime: "video/webm".into(),
                captured_at: None,
                location: None,
                poster: None,
            };
            phone
                .store
                .add_evidence(&visit, &phone.media, &path, capture)
                .map_err(core_err)?;
        }
        if n != 1 {
            phone.store.finish_visit(&visit).map_err(core_err)?;
        }
        phone.store.sync().map_err(core_err)?;
        phone.upload()?;
        visits += 1;
        if n == 0 {
            // The second phone of the group answers the first item differently, offline.
            let other = &mut phones[1];
            other.store.sync().map_err(core_err)?;
            let template = other
                .store
                .template(&"fire-major".parse().map_err(core_err)?, 1)
                .map_err(core_err)?;
            let item = template.items[1].id.clone();
            let answer = |value| AnswerInput {
                value,
                note: Some("复核".into()),
                media: vec![],
            };
            other
                .store
                .answer_item(&visit, &item, answer(AnswerValue::Fail))
                .map_err(core_err)?;
            let first = &mut phones[0];
            first
                .store
                .answer_item(&visit, &item, answer(AnswerValue::NotApplicable))
                .map_err(core_err)?;
            let pending = photo(&files, 999)?;
            let capture = phone::photo_capture(None);
            first.store.sync().map_err(core_err)?;
            // The second phone never uploads: its photo stays pending on the server.
            let other = &mut phones[1];
            other
                .store
                .add_evidence(&visit, &other.media, &pending, capture)
                .map_err(core_err)?;
            other.store.sync().map_err(core_err)?;
        }
    }
    Ok(visits)
}

/// Group 1's first phone starts a visit from the planned push; each group reports its week.
fn answer_pushes(phones: &mut [Phone]) -> Result<usize, CliError> {
    let first = &mut phones[0];
    let planned = first
        .store
        .assignments()
        .map_err(core_err)?
        .into_iter()
        .find(|a| a.title == content::PLANNED_TITLE);
    let mut visits = 0;
    if let Some(planned) = planned {
        let visit = first
            .store
            .start_visit_from_assignment(
                &planned.id,
                siteproof_core::VisitFromAssignment {
                    mode: siteproof_core::VisitMode::Covert,
                    team: vec!["张三".into(), "李四".into()],
                    template: None,
                    location: None,
                },
            )
            .map_err(core_err)?;
        let item = first
            .store
            .template(&"hazchem-major".parse().map_err(core_err)?, 1)
            .map_err(core_err)?
            .items[0]
            .id
            .clone();
        let input = AnswerInput {
            value: AnswerValue::Pass,
            note: Some("按计划暗访".into()),
            media: vec![],
        };
        first
            .store
            .answer_item(&visit, &item, input)
            .map_err(core_err)?;
        visits += 1;
    }
    first
        .store
        .write_collection(
            siteproof_core::CollectionKind::WorkUpdate,
            "第一督导组本周工作动态",
            "暗访企业9家，发现重大事故隐患3项，均已移交属地督办。",
            vec![],
        )
        .map_err(core_err)?;
    phones[2]
        .store
        .write_collection(
            siteproof_core::CollectionKind::Practice,
            "“四不两直”夜查经验",
            "夜间突击检查燃气用户，先查报警装置再查气瓶存放，效率明显提高。",
            vec![],
        )
        .map_err(core_err)?;
    for phone in [0, 2] {
        phones[phone].store.sync().map_err(core_err)?;
    }
    Ok(visits)
}

/// Seeds the demo against the server at `base` (already serving `state`).
pub async fn seed(
    state: &Services,
    base: &str,
    data: &Path,
    templates: &Path,
) -> Result<(), CliError> {
    let Some(codes) = seed_server(state, templates).await? else {
        println!("demo data already seeded in {}", data.display());
        return print_logins(base);
    };
    let (base_owned, dir) = (base.to_owned(), data.join("demo-phones"));
    let visits = tokio::task::spawn_blocking(move || run_phones(&base_owned, &codes, &dir))
        .await
        .map_err(|e| CliError::Usage(format!("demo phones panicked: {e}")))??;
    println!("demo: {visits} visits captured and synced by simulated phones");
    let driven = ledger::drive(&state.backoffice).await?;
    println!("demo: {driven} hazards driven through the ledger");
    let registered = enterprises::seed(&state.backoffice).await?;
    println!("demo: {registered} enterprises registered, the demo sites merged into theirs");
    if !reinspection::send(&state.backoffice).await?.is_empty() {
        let phones = data.join("demo-phones");
        let done = tokio::task::spawn_blocking(move || {
            reinspection::on_site(&phones.join("phone-0"), &phones.join("captures"))
        })
        .await
        .map_err(|e| CliError::Usage(format!("demo phone panicked: {e}")))??;
        println!("demo: a phone re-inspected {done} hazards (复查), awaiting verification");
    }
    let (tiers, planned) = supervision::decide(&state.backoffice).await?;
    println!(
        "demo: enterprises by tier {tiers}, one blacklisted, one on the key list by hand; \
         {planned} covert visits proposed to group 1 (/office/planning)"
    );
    print_logins(base)
}

fn print_logins(base: &str) -> Result<(), CliError> {
    println!("back office: {base}/office/login");
    for (login, name, role, _) in USERS {
        println!("  login {login:<9} password {PASSWORD}  ({name}, {role}, region {REGION})");
    }
    Ok(())
}

/// Serves (the caller opened the back office with cookies usable over plain HTTP), seeds the demo once the
/// server answers, and serves until Ctrl-C or SIGTERM.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: Services,
    data: &Path,
    templates: &Path,
) -> Result<(), CliError> {
    let local = listener
        .local_addr()
        .map_err(io("cannot read the listening address"))?;
    let server = tokio::spawn(siteproof_server::serve(
        listener,
        state.clone(),
        siteproof_server::shutdown_signal(),
    ));
    seed(&state, &format!("http://{local}"), data, templates).await?;
    println!("ready: http://{local}/office/login");
    server
        .await
        .map_err(|e| CliError::Usage(format!("server task failed: {e}")))?
        .map_err(io("server failed"))
}
