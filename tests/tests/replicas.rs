//! Property: 3 to 5 replicas capture offline and exchange documents in random orders; once
//! everyone has heard from everyone, all hold identical visits, and every answer that no
//! later answer superseded is still there (as the value or as a kept conflict).

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand::seq::IndexedRandom;
use siteproof_core::{
    AnswerInput, AnswerValue, MergeOrigin, NewFinding, RecordId, Severity, Store,
};

/// An answer event, named by the note it writes: `r<replica>-<n>`.
type Event = String;

struct Replica {
    store: Store,
    /// Answer events this replica has seen, per (visit, item), to know what a new answer supersedes.
    seen: BTreeMap<(RecordId, String), BTreeSet<Event>>,
}

#[test]
fn replicas_exchanging_in_random_orders_converge_and_keep_conflicts() {
    let (seed, mut rng) = siteproof_tests::seeded_rng("replicas");
    for case in 0..12 {
        run_case(&mut rng, seed, case);
    }
}

fn run_case(rng: &mut impl Rng, seed: u64, case: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let template = siteproof_tests::template(6);
    let n_replicas = rng.random_range(3..=5);
    let mut replicas: Vec<Replica> = (0..n_replicas)
        .map(|i| Replica {
            store: siteproof_tests::open_store(
                &dir.path().join(format!("r{i}.db")),
                &format!("r{i}"),
            ),
            seen: BTreeMap::new(),
        })
        .collect();
    // The template comes from one source, as it would from the server.
    let template_id = replicas[0].store.put_template(&template).expect("template");
    let template_doc = replicas[0]
        .store
        .export_document(&template_id)
        .expect("export");
    for r in replicas.iter_mut().skip(1) {
        r.store
            .merge(Some(&template_id), &template_doc, MergeOrigin::Server)
            .expect("install");
    }

    let mut visits: Vec<RecordId> = Vec::new();
    // Which replicas hold which visit, and the supersede relation of every answer event.
    let mut holders: BTreeMap<RecordId, BTreeSet<usize>> = BTreeMap::new();
    let mut supersedes: BTreeMap<Event, BTreeSet<Event>> = BTreeMap::new();
    let mut all_events: BTreeMap<(RecordId, String), BTreeSet<Event>> = BTreeMap::new();
    let mut counter = 0;

    for _ in 0..rng.random_range(20..60) {
        let r = rng.random_range(0..n_replicas);
        match rng.random_range(0..10) {
            0 => {
                let v = replicas[r]
                    .store
                    .create_visit(siteproof_tests::new_visit(&template, "site"))
                    .expect("create");
                holders.entry(v.clone()).or_default().insert(r);
                visits.push(v);
            }
            1..=5 => {
                let held: Vec<&RecordId> =
                    visits.iter().filter(|v| holders[*v].contains(&r)).collect();
                let Some(&visit) = held.choose(rng) else {
                    continue;
                };
                let item = format!("i{}", rng.random_range(0..6));
                counter += 1;
                let event = format!("r{r}-{counter}");
                let value = if rng.random_bool(0.5) {
                    AnswerValue::Pass
                } else {
                    AnswerValue::Fail
                };
                replicas[r]
                    .store
                    .answer_item(
                        visit,
                        &item.parse().expect("item"),
                        AnswerInput {
                            value,
                            note: Some(event.clone()),
                            media: vec![],
                        },
                    )
                    .expect("answer");
                let key = (visit.clone(), item);
                let seen = replicas[r].seen.entry(key.clone()).or_default();
                supersedes.insert(event.clone(), seen.clone());
                seen.insert(event.clone());
                all_events.entry(key).or_default().insert(event);
            }
            6 => {
                let held: Vec<&RecordId> =
                    visits.iter().filter(|v| holders[*v].contains(&r)).collect();
                let Some(&visit) = held.choose(rng) else {
                    continue;
                };
                replicas[r]
                    .store
                    .add_finding(
                        visit,
                        NewFinding {
                            description: format!("finding by r{r}"),
                            severity: Severity::Major,
                            item: None,
                            location: None,
                            media: vec![],
                            fixed_on_spot: rng.random_bool(0.3),
                            interim_measures: None,
                        },
                    )
                    .expect("finding");
            }
            _ => {
                let to = rng.random_range(0..n_replicas);
                if to != r {
                    exchange(&mut replicas, r, to, &visits, &mut holders);
                }
            }
        }
    }
    // Gossip until everyone has everything: every ordered pair, in a random order, twice.
    let mut pairs: Vec<(usize, usize)> = (0..n_replicas)
        .flat_map(|a| (0..n_replicas).map(move |b| (a, b)))
        .filter(|(a, b)| a != b)
        .collect();
    for _ in 0..2 {
        rand::seq::SliceRandom::shuffle(pairs.as_mut_slice(), rng);
        for &(a, b) in &pairs {
            exchange(&mut replicas, a, b, &visits, &mut holders);
        }
    }

    let ctx = format!("seed {seed} case {case}");
    for visit in &visits {
        let reference = replicas[0].store.visit(visit).expect("visit");
        let reference_conflicts = replicas[0].store.conflicts(visit).expect("conflicts");
        for r in replicas.iter_mut().skip(1) {
            assert_eq!(
                r.store.visit(visit).expect("visit"),
                reference,
                "{ctx}: replicas differ"
            );
            assert_eq!(
                r.store.conflicts(visit).expect("c"),
                reference_conflicts,
                "{ctx}: conflicts differ"
            );
        }
        for item in 0..6 {
            let item = format!("i{item}");
            let Some(events) = all_events.get(&(visit.clone(), item.clone())) else {
                continue;
            };
            let superseded: BTreeSet<&Event> = events.iter().flat_map(|e| &supersedes[e]).collect();
            let expected: BTreeSet<&Event> =
                events.iter().filter(|e| !superseded.contains(e)).collect();
            let kept: BTreeSet<String> =
                match reference_conflicts.iter().find(|c| c.item.as_str() == item) {
                    Some(c) => c.answers.iter().filter_map(|a| a.note.clone()).collect(),
                    None => reference
                        .answers
                        .get(&item)
                        .and_then(|a| a.note.clone())
                        .into_iter()
                        .collect(),
                };
            let kept: BTreeSet<&Event> = kept.iter().collect();
            assert_eq!(
                kept, expected,
                "{ctx}: visit {visit} item {item}: answers lost or invented"
            );
        }
    }
}

/// Sends every visit `from` holds to `to`, and what `from` has seen with it.
fn exchange(
    replicas: &mut [Replica],
    from: usize,
    to: usize,
    visits: &[RecordId],
    holders: &mut BTreeMap<RecordId, BTreeSet<usize>>,
) {
    for visit in visits {
        if !holders[visit].contains(&from) {
            continue;
        }
        let bytes = replicas[from].store.export_document(visit).expect("export");
        replicas[to]
            .store
            .merge(Some(visit), &bytes, MergeOrigin::Peer)
            .expect("merge");
        holders.get_mut(visit).expect("known visit").insert(to);
        let seen: Vec<_> = replicas[from]
            .seen
            .iter()
            .filter(|((v, _), _)| v == visit)
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        for (key, events) in seen {
            replicas[to].seen.entry(key).or_default().extend(events);
        }
    }
}
