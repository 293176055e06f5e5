//! Makes captures in a loop and prints `ack <visit> <n>` after each one the store returned
//! `Ok` for. The crash test kills this process at random moments and then checks that every
//! acknowledged capture is in the store.

use std::io::Write;

use siteproof_core::{NewFinding, Severity, Store};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(template_file)) = (args.next(), args.next()) else {
        eprintln!("usage: capture-loop DB TEMPLATE_JSON");
        std::process::exit(2);
    };
    let template: siteproof_core::Template =
        serde_json::from_slice(&std::fs::read(template_file).expect("read template"))
            .expect("parse template");
    let mut store = Store::open(&path).expect("open store");
    store
        .set_profile(&siteproof_tests::profile("crash"))
        .expect("profile");
    if store.list_templates().expect("templates").is_empty() {
        store.put_template(&template).expect("install template");
    }
    let visit = store
        .create_visit(siteproof_tests::new_visit(&template, "crash site"))
        .expect("create visit");
    let mut out = std::io::stdout().lock();
    writeln!(out, "visit {visit}").expect("stdout");
    out.flush().expect("flush");
    for n in 0.. {
        let item = format!("i{}", n % template.items.len())
            .parse()
            .expect("item id");
        store
            .answer_item(
                &visit,
                &item,
                siteproof_core::AnswerInput {
                    value: siteproof_core::AnswerValue::Fail,
                    note: Some(format!("note {n}")),
                    media: vec![],
                },
            )
            .expect("answer");
        store
            .add_finding(
                &visit,
                NewFinding {
                    description: format!("capture {n}"),
                    severity: Severity::General,
                    item: Some(item),
                    location: None,
                    media: vec![],
                    fixed_on_spot: false,
                    interim_measures: None,
                },
            )
            .expect("finding");
        writeln!(out, "ack {n}").expect("stdout");
        out.flush().expect("flush");
    }
}
