//! Suite cases for the template library ([`TemplateStore`]): a draft imported once, and a
//! template version published once, also by several processes at once, with its draft
//! deleted in the same write.

use std::sync::Arc;

use automerge::ActorId;
use futures_util::future::join_all;
use siteproof_core::{RecordHeader, RecordId, RecordKind, Scope};

use super::Processes;
use crate::storage::{
    DraftImport, RecordWrite, StorageError, SyncStorage, TemplateDraft, TemplateStore,
    TemplateVersion,
};

fn key(id: &str, version: u32) -> TemplateVersion {
    TemplateVersion {
        id: id.into(),
        version,
    }
}

fn draft(id: &str, version: u32, body: &str) -> TemplateDraft {
    TemplateDraft {
        key: key(id, version),
        body: body.into(),
        imported_at: 5,
    }
}

fn record_id(id: &str, version: u32) -> RecordId {
    format!("template:{id}@{version}")
        .parse()
        .expect("record id")
}

/// A new `template` record with `id`, made by a writer of its own (its changes are its own).
fn template_record(id: &RecordId) -> RecordWrite {
    let header = RecordHeader {
        kind: RecordKind::Template,
        id: id.clone(),
        scope: Scope::global(),
    };
    let mut doc = header.create(ActorId::random()).expect("create");
    doc.commit();
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|mut c| (c.hash().0, c.bytes().into_owned()))
        .collect();
    RecordWrite {
        header,
        changes,
        known_through: 0,
        snapshot: Some(doc.save()),
    }
}

async fn draft_keys(store: &dyn TemplateStore) -> Vec<TemplateVersion> {
    store
        .drafts()
        .await
        .expect("drafts")
        .into_iter()
        .map(|d| d.key)
        .collect()
}

/// A draft is stored once: the same content again changes nothing, other content for its
/// version is refused and the first kept; drafts are listed by id then version.
pub async fn a_template_draft_is_imported_once_and_listed_in_order(storage: &dyn SyncStorage) {
    let store = storage.template_store();
    let first = draft("ladders", 2, "{\"v\":2}");
    assert_eq!(
        store
            .import_draft(&first, &record_id("ladders", 2))
            .await
            .expect("import"),
        DraftImport::Stored
    );
    for (d, expected) in [
        (first.clone(), DraftImport::Unchanged),
        (
            draft("ladders", 2, "{\"v\":\"other\"}"),
            DraftImport::OtherContent,
        ),
        (draft("ladders", 1, "{\"v\":1}"), DraftImport::Stored),
        (draft("gas", 7, "{\"v\":7}"), DraftImport::Stored),
    ] {
        let record = record_id(&d.key.id, d.key.version);
        assert_eq!(
            store.import_draft(&d, &record).await.expect("import"),
            expected,
            "{:?}",
            d.key
        );
    }
    assert_eq!(
        draft_keys(&*store).await,
        vec![key("gas", 7), key("ladders", 1), key("ladders", 2)]
    );
    assert_eq!(
        store.draft(&key("ladders", 2)).await.expect("read"),
        Some(first)
    );
    assert_eq!(store.draft(&key("ladders", 3)).await.expect("read"), None);
    assert!(store.published_templates().await.expect("list").is_empty());
}

/// Publishing creates the record and deletes its draft in one write; publishing the version
/// again, with or without a draft, is a conflict that writes nothing, a missing draft is
/// `NotFound`, and a published version is not imported again.
pub async fn a_template_version_is_published_once_with_its_draft(storage: &dyn SyncStorage) {
    let store = storage.template_store();
    let id = record_id("ladders", 1);
    store
        .import_draft(&draft("ladders", 1, "{}"), &id)
        .await
        .expect("import");
    let first = template_record(&id);
    store
        .publish_template(&first, Some(&key("ladders", 1)))
        .await
        .expect("publish");
    assert!(draft_keys(&*store).await.is_empty(), "the draft is gone");
    assert_eq!(
        store.published_templates().await.expect("list"),
        vec![id.clone()]
    );

    store
        .import_draft(&draft("ladders", 9, "{}"), &record_id("ladders", 9))
        .await
        .expect("another draft");
    for from_draft in [None, Some(key("ladders", 9))] {
        let again = store
            .publish_template(&template_record(&id), from_draft.as_ref())
            .await;
        assert!(matches!(again, Err(StorageError::Conflict(_))), "{again:?}");
    }
    assert_eq!(
        draft_keys(&*store).await,
        vec![key("ladders", 9)],
        "a refused publication deletes no draft"
    );
    let stored = storage.changes_after(&id, 0).await.expect("changes");
    assert_eq!(
        stored.iter().map(|c| c.hash).collect::<Vec<_>>(),
        first.changes.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        "the first publication's changes only"
    );
    assert_eq!(
        store
            .import_draft(&draft("ladders", 1, "{}"), &id)
            .await
            .expect("import"),
        DraftImport::Published
    );

    let missing = store
        .publish_template(
            &template_record(&record_id("ladders", 5)),
            Some(&key("ladders", 5)),
        )
        .await;
    assert!(
        matches!(missing, Err(StorageError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(
        storage
            .documents(&[record_id("ladders", 5)])
            .await
            .expect("documents"),
        vec![],
        "nothing is created without its draft"
    );
    store
        .publish_template(&template_record(&record_id("gas", 3)), None)
        .await
        .expect("published without a draft");
    assert_eq!(
        store.published_templates().await.expect("list"),
        vec![record_id("gas", 3), id]
    );
}

/// Of three processes each publishing one imported version at once (each with its own
/// record) while importing it again, one creates it; every other gets a conflict, the record
/// holds the winner's changes only, and no draft is left.
pub async fn processes_publishing_one_template_version_at_once_publish_it_once(open: &Processes) {
    const PROCESSES: usize = 3;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    for round in 0..5 {
        let id = record_id("raced", round);
        let imported = join_all(storages.iter().map(|s| {
            let id = id.clone();
            async move {
                s.template_store()
                    .import_draft(&draft("raced", round, "{}"), &id)
                    .await
                    .expect("import")
            }
        }))
        .await;
        assert_eq!(
            imported
                .iter()
                .filter(|i| **i == DraftImport::Stored)
                .count(),
            1,
            "{imported:?}"
        );
        let tasks = storages.iter().map(|s| {
            let (s, record) = (Arc::clone(s), template_record(&id));
            tokio::spawn(async move {
                let result = s
                    .template_store()
                    .publish_template(&record, Some(&key("raced", round)))
                    .await;
                (record, result)
            })
        });
        // Imports of the version again, racing the publications: each finds the draft or the
        // record, and none leaves a draft behind a published version.
        let imports = storages.iter().map(|s| {
            let (s, id) = (Arc::clone(s), id.clone());
            tokio::spawn(async move {
                s.template_store()
                    .import_draft(&draft("raced", round, "{}"), &id)
                    .await
                    .expect("import")
            })
        });
        let (tasks, imports) = futures_util::future::join(join_all(tasks), join_all(imports)).await;
        for import in imports {
            let found = import.expect("join");
            assert!(
                matches!(found, DraftImport::Unchanged | DraftImport::Published),
                "{found:?}"
            );
        }
        let mut won = Vec::new();
        for task in tasks {
            match task.expect("join") {
                (record, Ok(())) => won.push(record),
                (_, Err(StorageError::Conflict(_))) => {}
                (_, Err(e)) => panic!("a losing publication should be a conflict: {e}"),
            }
        }
        assert_eq!(won.len(), 1, "publications that won: {}", won.len());
        for s in &storages {
            let stored = s.changes_after(&id, 0).await.expect("changes");
            assert_eq!(
                stored.iter().map(|c| c.hash).collect::<Vec<_>>(),
                won[0].changes.iter().map(|(h, _)| *h).collect::<Vec<_>>()
            );
            assert!(draft_keys(&*s.template_store()).await.is_empty());
        }
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
