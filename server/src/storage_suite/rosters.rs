//! Suite cases for the rosters ([`RosterStore`]): inspectors join only groups of their region
//! and are listed by group then name, experts are kept per region, and processes editing one
//! roster at once lose no inspector and leave each in exactly one group.

use std::sync::Arc;

use futures_util::future::join_all;
use siteproof_core::Sector;

use super::{Processes, group};
use crate::storage::{Expert, GroupChange, Inspector, RosterStore, SyncStorage};

fn inspector(name: &str, group: Option<&str>) -> Inspector {
    Inspector {
        id: 0,
        name: name.into(),
        unit: format!("unit of {name}"),
        phone: Some("0311-1234567".into()),
        sectors: vec![Sector::Gas, Sector::HazardousChemicals],
        group: group.map(str::to_owned),
    }
}

fn expert(name: &str) -> Expert {
    Expert {
        id: 0,
        name: name.into(),
        specialty: "electrical".into(),
        sectors: vec![Sector::Gas],
        unit: format!("institute of {name}"),
        phone: None,
    }
}

async fn names(store: &dyn RosterStore, region: &str, group: Option<&str>) -> Vec<String> {
    store
        .inspectors(region, group)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.name)
        .collect()
}

/// An inspector joins a group of its region or none; a group of another region or an unknown
/// one stores nothing. The roster lists no group first, then by group and name, with every
/// field as stored, and one group's members alone when asked.
pub async fn inspectors_join_only_groups_of_their_region(storage: &dyn SyncStorage) {
    for (g, region) in [("g1", "hebei"), ("g2", "hebei"), ("far", "shanxi")] {
        storage
            .create_group(&group(g, region))
            .await
            .expect("group");
    }
    let store = storage.roster_store();
    let wang = store
        .add_inspector("hebei", &inspector("wang", Some("g2")))
        .await
        .expect("add")
        .expect("a group of the region");
    store
        .add_inspector("hebei", &inspector("li", Some("g1")))
        .await
        .expect("add")
        .expect("a group of the region");
    let zhao = store
        .add_inspector("hebei", &inspector("zhao", None))
        .await
        .expect("add")
        .expect("no group");
    for other in ["far", "nowhere"] {
        assert_eq!(
            store
                .add_inspector("hebei", &inspector("sun", Some(other)))
                .await
                .expect("add"),
            None,
            "{other}"
        );
    }
    store
        .add_inspector("shanxi", &inspector("zhou", Some("far")))
        .await
        .expect("add")
        .expect("a group of its region");
    assert_eq!(names(&*store, "hebei", None).await, ["zhao", "li", "wang"]);
    assert_eq!(names(&*store, "hebei", Some("g2")).await, ["wang"]);
    assert_eq!(names(&*store, "shanxi", None).await, ["zhou"]);
    let stored = store.inspectors("hebei", Some("g2")).await.expect("list");
    assert_eq!(
        stored,
        vec![Inspector {
            id: wang,
            ..inspector("wang", Some("g2"))
        }]
    );

    assert_eq!(
        store
            .set_inspector_group("hebei", zhao, Some("g1"))
            .await
            .expect("move"),
        GroupChange::Done
    );
    assert_eq!(
        store
            .set_inspector_group("hebei", zhao, Some("far"))
            .await
            .expect("move"),
        GroupChange::NoSuchGroup
    );
    assert_eq!(
        store
            .set_inspector_group("shanxi", zhao, None)
            .await
            .expect("move"),
        GroupChange::NoSuchInspector,
        "an inspector of another region"
    );
    assert_eq!(
        store
            .set_inspector_group("hebei", wang + 1000, None)
            .await
            .expect("move"),
        GroupChange::NoSuchInspector
    );
    assert_eq!(names(&*store, "hebei", Some("g1")).await, ["li", "zhao"]);
    assert_eq!(
        store
            .set_inspector_group("hebei", wang, None)
            .await
            .expect("move"),
        GroupChange::Done
    );
    assert_eq!(names(&*store, "hebei", None).await, ["wang", "li", "zhao"]);
}

/// Experts are kept per region with every field, listed by name, each with an id of its own.
pub async fn experts_are_kept_per_region_by_name(storage: &dyn SyncStorage) {
    let store = storage.roster_store();
    let mut ids = Vec::new();
    for (name, region) in [("qian", "hebei"), ("feng", "hebei"), ("chen", "shanxi")] {
        ids.push(store.add_expert(region, &expert(name)).await.expect("add"));
    }
    let hebei = store.experts("hebei").await.expect("list");
    assert_eq!(
        hebei,
        vec![
            Expert {
                id: ids[1],
                ..expert("feng")
            },
            Expert {
                id: ids[0],
                ..expert("qian")
            }
        ]
    );
    assert_eq!(store.experts("shanxi").await.expect("list").len(), 1);
    assert!(store.experts("henan").await.expect("list").is_empty());
}

/// Three processes each add inspectors and keep moving one inspector into their own group,
/// or into a group of another region, at once: every inspector is stored once with an id of
/// its own, no move into the other region's group succeeds, and the moved inspector ends in
/// exactly one group of the region, the same for every process.
pub async fn processes_editing_one_roster_at_once_keep_every_inspector_in_one_group(
    open: &Processes,
) {
    const PROCESSES: usize = 3;
    const ADDS: usize = 5;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    for p in 0..PROCESSES {
        storages[0]
            .create_group(&group(&format!("g{p}"), "hebei"))
            .await
            .expect("group");
    }
    storages[0]
        .create_group(&group("far", "shanxi"))
        .await
        .expect("group");
    let stores: Vec<Arc<dyn RosterStore>> = storages.iter().map(|s| s.roster_store()).collect();
    let moved = stores[0]
        .add_inspector("hebei", &inspector("moved", None))
        .await
        .expect("add")
        .expect("no group");
    let tasks = stores.iter().enumerate().flat_map(|(p, s)| {
        (0..ADDS).map(move |a| {
            let s = Arc::clone(s);
            tokio::spawn(async move {
                let own = format!("g{p}");
                let added = s
                    .add_inspector("hebei", &inspector(&format!("p{p}-{a}"), Some(&own)))
                    .await
                    .expect("add")
                    .expect("a group of the region");
                let target = if a % 2 == 0 { own.as_str() } else { "far" };
                let change = s
                    .set_inspector_group("hebei", moved, Some(target))
                    .await
                    .expect("move");
                (added, target == "far", change)
            })
        })
    });
    let mut ids = Vec::new();
    for task in join_all(tasks).await {
        let (added, far, change) = task.expect("join");
        ids.push(added);
        let expected = if far {
            GroupChange::NoSuchGroup
        } else {
            GroupChange::Done
        };
        assert_eq!(change, expected);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        PROCESSES * ADDS,
        "every inspector has an id of its own"
    );
    let mut seen = None;
    for store in &stores {
        let roster = store.inspectors("hebei", None).await.expect("list");
        assert_eq!(roster.len(), PROCESSES * ADDS + 1);
        let found: Vec<_> = roster.iter().filter(|i| i.id == moved).collect();
        assert_eq!(found.len(), 1);
        let in_group = found[0].group.clone().expect("in a group");
        assert!(in_group.starts_with('g'), "{in_group}");
        assert_eq!(*seen.get_or_insert(in_group.clone()), in_group);
        let members = store
            .inspectors("hebei", Some(&in_group))
            .await
            .expect("list");
        assert_eq!(members.len(), ADDS + 1, "the group's own and the moved one");
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
