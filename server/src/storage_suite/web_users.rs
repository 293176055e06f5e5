//! Suite cases for the back office's users and sessions ([`WebUserStore`]): a login taken once,
//! sessions live until they expire or are deleted, and several processes creating one login
//! at once.

use std::sync::Arc;

use futures_util::future::join_all;

use super::Processes;
use crate::storage::{NewSession, NewWebUser, SyncStorage, WebUserRow, WebUserStore};

fn user(login: &str) -> NewWebUser {
    NewWebUser {
        login: login.into(),
        name: format!("{login}'s name"),
        password_hash: format!("$argon2id$hash-of-{login}"),
        role: "reviewer".into(),
        region: "440300".into(),
        sectors: "mining,chemicals".into(),
        created_at: 1_000,
    }
}

fn session(byte: u8, user: i64, expires_at: i64) -> NewSession {
    NewSession {
        id_hash: [byte; 32],
        user,
        csrf: format!("csrf-{byte}"),
        created_at: 1_000,
        expires_at,
    }
}

/// A login is taken once; its password hash is found by login, and nothing for an unknown one.
pub async fn a_login_is_taken_once_and_its_password_found(storage: &dyn SyncStorage) {
    let users = storage.web_user_store();
    let first = users
        .insert_user(&user("wang"))
        .await
        .expect("insert")
        .expect("a new login");
    let mut again = user("wang");
    again.password_hash = "another".into();
    assert_eq!(users.insert_user(&again).await.expect("insert"), None);
    let second = users
        .insert_user(&user("li"))
        .await
        .expect("insert")
        .expect("another login");
    assert_ne!(first, second);
    assert_eq!(
        users.password_of("wang").await.expect("read"),
        Some((first, "$argon2id$hash-of-wang".into()))
    );
    assert_eq!(users.password_of("nobody").await.expect("read"), None);
}

/// A session names its user with every column until it expires; deleting one (a logout) also
/// removes every expired session, and leaves the others.
pub async fn a_session_is_live_until_it_expires_or_is_deleted(storage: &dyn SyncStorage) {
    let users = storage.web_user_store();
    let id = users
        .insert_user(&user("zhao"))
        .await
        .expect("insert")
        .expect("new");
    for (byte, expires) in [(1, 5_000), (2, 9_000), (3, 2_000)] {
        users
            .insert_session(&session(byte, id, expires))
            .await
            .expect("session");
    }
    let expected = WebUserRow {
        id,
        login: "zhao".into(),
        name: "zhao's name".into(),
        role: "reviewer".into(),
        region: "440300".into(),
        sectors: "mining,chemicals".into(),
    };
    assert_eq!(
        users.session_user(&[1; 32], 4_999).await.expect("read"),
        Some((expected.clone(), "csrf-1".into()))
    );
    assert_eq!(
        users.session_user(&[1; 32], 5_000).await.expect("read"),
        None
    );
    assert_eq!(
        users.session_user(&[9; 32], 1_000).await.expect("read"),
        None
    );
    // The logout of session 1 at 3,000 also removes session 3, expired by then.
    users.delete_session(&[1; 32], 3_000).await.expect("logout");
    assert_eq!(
        users.session_user(&[1; 32], 3_000).await.expect("read"),
        None
    );
    assert_eq!(
        users.session_user(&[2; 32], 3_000).await.expect("read"),
        Some((expected, "csrf-2".into()))
    );
    // Session 3's hash may be used again: the expired row is gone.
    users
        .insert_session(&session(3, id, 8_000))
        .await
        .expect("the expired session's row was removed");
}

/// Of several processes creating one login at once, exactly one creates it; every process
/// then finds that user, and a session opened on one is live on the others.
pub async fn processes_creating_one_login_at_once_create_one_user(open: &Processes) {
    const PROCESSES: usize = 3;
    const ATTEMPTS: usize = 8;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let stores: Vec<Arc<dyn WebUserStore>> = storages.iter().map(|s| s.web_user_store()).collect();
    let tasks = stores.iter().flat_map(|s| {
        (0..ATTEMPTS).map(move |_| {
            let s = Arc::clone(s);
            tokio::spawn(async move { s.insert_user(&user("chen")).await.expect("insert") })
        })
    });
    let created: Vec<i64> = join_all(tasks)
        .await
        .into_iter()
        .filter_map(|t| t.expect("join"))
        .collect();
    assert_eq!(created.len(), 1, "users created: {created:?}");
    for store in &stores {
        let found = store.password_of("chen").await.expect("read");
        assert_eq!(found.map(|(id, _)| id), Some(created[0]));
    }
    stores[0]
        .insert_session(&session(7, created[0], i64::MAX))
        .await
        .expect("session");
    for store in &stores[1..] {
        let live = store.session_user(&[7; 32], 2_000).await.expect("read");
        assert_eq!(live.map(|(u, _)| u.id), Some(created[0]));
    }
}
