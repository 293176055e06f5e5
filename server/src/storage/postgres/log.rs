//! The change log's SQL on PostgreSQL: storing pushes (with their snapshots), reading records
//! back, and the scope scan that pulls are built from.
//!
//! Ordering: pulls page by `seq`, so a reader must never see a change whose `seq` is higher
//! than one not yet committed. Every push takes [`APPEND_LOCK`] (a transaction-scoped advisory
//! lock) before it reads or writes anything and keeps it until its commit, so appends from
//! every process run one at a time and `seq` order is commit order. Reads take no lock.

use deadpool_postgres::GenericClient;
use siteproof_core::{DeviceId, RecordHeader, RecordId, Scope};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::storage::columns::{from_sql_seq, parse_id, to_hash, to_sql_seq};
use crate::storage::{
    DocMeta, FullDocument, Hash, PushWrite, RecordStored, ScanQuery, ScanRow, StorageError,
    StorageResult, StoredChange,
};

/// The advisory lock key of appends to `changes` (the ASCII of "spCHANGE").
pub(super) const APPEND_LOCK: i64 = 0x7370_4348_414e_4745;

/// Stores a snapshot unless a newer one is there.
pub(super) const SNAPSHOT_SQL: &str =
    "INSERT INTO snapshots (doc_id, seq, data) VALUES ($1, $2, $3)
     ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq, data = excluded.data
     WHERE excluded.seq > snapshots.seq";

/// Records whole, in the order of the ids asked for (missing ones left out): header, snapshot
/// and the changes after it, in one statement (one snapshot of the database: a change stored
/// meanwhile is either in the trailing changes or not at all, never half of them).
const FULL_DOCUMENTS_SQL: &str =
    "SELECT d.id, d.kind, d.region, d.grp, d.created_seq, d.created_by, s.seq, s.data,
            t.seqs, t.hashes, t.datas
     FROM unnest($1::text[]) WITH ORDINALITY AS u (id, n)
     JOIN documents d ON d.id = u.id
     LEFT JOIN snapshots s ON s.doc_id = d.id
     LEFT JOIN LATERAL (
         SELECT array_agg(c.seq ORDER BY c.seq) AS seqs, array_agg(c.hash ORDER BY c.seq) AS hashes,
                array_agg(c.data ORDER BY c.seq) AS datas
         FROM changes c WHERE c.doc_id = d.id AND c.seq > COALESCE(s.seq, 0)) t ON true
     ORDER BY u.n";

pub(super) async fn full_documents(
    client: &impl GenericClient,
    ids: &[RecordId],
) -> StorageResult<Vec<FullDocument>> {
    let stmt = client.prepare_cached(FULL_DOCUMENTS_SQL).await?;
    let ids: Vec<&str> = ids.iter().map(RecordId::as_str).collect();
    let rows = client.query(&stmt, &[&ids]).await?;
    rows.iter()
        .map(|row| {
            let meta = doc_meta_row(row)?;
            let snapshot_seq: Option<i64> = row.get(6);
            let trailing = changes_of(row, 8)?;
            Ok(FullDocument {
                header: meta.header,
                snapshot: row.get(7),
                snapshot_seq: snapshot_seq.map_or(0, from_sql_seq),
                trailing,
            })
        })
        .collect()
}

pub(super) async fn changes_after(
    client: &impl GenericClient,
    id: &RecordId,
    after: u64,
) -> StorageResult<Vec<StoredChange>> {
    let stmt = client
        .prepare_cached(
            "SELECT seq, hash, data FROM changes WHERE doc_id = $1 AND seq > $2 ORDER BY seq",
        )
        .await?;
    let rows = client
        .query(&stmt, &[&id.as_str(), &to_sql_seq(after)?])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredChange {
                seq: from_sql_seq(r.get(0)),
                hash: to_hash(r.get(1))?,
                data: r.get(2),
            })
        })
        .collect()
}

/// Takes [`APPEND_LOCK`] until `tx` ends: what `tx` reads of the log after this stays true
/// until its commit. Taking it again in the same transaction is harmless.
pub(super) async fn lock_appends(tx: &deadpool_postgres::Transaction<'_>) -> StorageResult<()> {
    let stmt = tx
        .prepare_cached("SELECT pg_advisory_xact_lock($1)")
        .await?;
    tx.execute(&stmt, &[&APPEND_LOCK]).await?;
    Ok(())
}

/// Whether a record with this id is stored.
pub(super) async fn record_exists(
    client: &impl GenericClient,
    id: &RecordId,
) -> StorageResult<bool> {
    let stmt = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM documents WHERE id = $1)")
        .await?;
    Ok(client.query_one(&stmt, &[&id.as_str()]).await?.get(0))
}

/// Stores a push inside `tx` (the caller commits).
pub(super) async fn store_push(
    tx: &deadpool_postgres::Transaction<'_>,
    push: &PushWrite,
) -> StorageResult<Vec<RecordStored>> {
    lock_appends(tx).await?;
    store_records(tx, push).await
}

/// Stores a push's records inside a transaction that holds [`APPEND_LOCK`].
pub(super) async fn store_records(
    tx: &impl GenericClient,
    push: &PushWrite,
) -> StorageResult<Vec<RecordStored>> {
    let pushed_by = push.pushed_by.as_ref().map(DeviceId::as_str);
    // A stored record in one statement: its stored header; its changes, inserted only when
    // that header is the pushed one (else nothing is written and the push fails), in the
    // pushed (causal) order, which is the order the identity column numbers the rows in
    // (WITH ORDINALITY); whether changes stored after what the writer knows are not among the
    // pushed ones (its copy is not the whole record: then it must not become the snapshot);
    // and the record's last `seq` (the statement's snapshot does not hold the rows it
    // inserts: the greater of theirs and the ones stored before). No row: a new record.
    let append = tx
        .prepare_cached(
            "WITH d AS (SELECT kind, region, grp FROM documents WHERE id = $1),
             added AS (
                 INSERT INTO changes (doc_id, hash, region, grp, pushed_by, data)
                 SELECT $1, u.hash, $2, $3, $4, u.data
                 FROM unnest($5::bytea[], $6::bytea[]) WITH ORDINALITY AS u (hash, data, n)
                 WHERE EXISTS (SELECT 1 FROM d WHERE kind = $7 AND region = $2 AND grp = $3)
                 ORDER BY u.n
                 ON CONFLICT (doc_id, hash) DO NOTHING
                 RETURNING seq)
             SELECT d.kind, d.region, d.grp,
                    EXISTS (SELECT 1 FROM changes
                            WHERE doc_id = $1 AND seq > $8 AND hash <> ALL ($5::bytea[])),
                    GREATEST((SELECT MAX(seq) FROM added),
                             (SELECT MAX(seq) FROM changes WHERE doc_id = $1))
             FROM d",
        )
        .await?;
    let create = tx
        .prepare_cached(
            "INSERT INTO documents (id, kind, region, grp, created_seq, created_by)
             VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .await?;
    // A new record's changes, as above, then its first `seq` (none: the push fails,
    // `created_seq` is never null) and its last.
    let insert_new = tx
        .prepare_cached(
            "WITH added AS (
                 INSERT INTO changes (doc_id, hash, region, grp, pushed_by, data)
                 SELECT $1, u.hash, $2, $3, $4, u.data
                 FROM unnest($5::bytea[], $6::bytea[]) WITH ORDINALITY AS u (hash, data, n)
                 ORDER BY u.n
                 ON CONFLICT (doc_id, hash) DO NOTHING
                 RETURNING seq
             ), created AS (
                 UPDATE documents SET created_seq = (SELECT MIN(seq) FROM added) WHERE id = $1
             )
             SELECT (SELECT MAX(seq) FROM added)",
        )
        .await?;
    let put_snapshot = tx.prepare_cached(SNAPSHOT_SQL).await?;
    let mut out = Vec::with_capacity(push.records.len());
    for record in &push.records {
        let h = &record.header;
        let (id, kind) = (h.id.as_str(), h.kind.code());
        let hashes: Vec<&[u8]> = record.changes.iter().map(|(h, _)| &h[..]).collect();
        let data: Vec<&[u8]> = record.changes.iter().map(|(_, d)| &d[..]).collect();
        let known = to_sql_seq(record.known_through)?;
        // `insert_new` takes the first six.
        let params: [&(dyn ToSql + Sync); 8] = [
            &id,
            &h.scope.region,
            &h.scope.group,
            &pushed_by,
            &hashes,
            &data,
            &kind,
            &known,
        ];
        let stored = tx.query_opt(&append, &params).await?;
        let (foreign, last): (bool, Option<i64>) = match stored {
            Some(row) => {
                let (stored_kind, region, grp): (&str, &str, &str) =
                    (row.get(0), row.get(1), row.get(2));
                if stored_kind != kind || region != h.scope.region || grp != h.scope.group {
                    return Err(StorageError::Conflict(format!(
                        "record {} exists with another kind or scope",
                        h.id
                    )));
                }
                (row.get(3), row.get(4))
            }
            None => {
                tx.execute(
                    &create,
                    &[&id, &kind, &h.scope.region, &h.scope.group, &pushed_by],
                )
                .await?;
                (false, tx.query_one(&insert_new, &params[..6]).await?.get(0))
            }
        };
        let covered_through = match (foreign, last) {
            (false, Some(last)) => Some(from_sql_seq(last)),
            _ => None,
        };
        if let (Some(seq), Some(snapshot)) = (covered_through, &record.snapshot) {
            tx.execute(&put_snapshot, &[&id, &to_sql_seq(seq)?, snapshot])
                .await?;
        }
        out.push(RecordStored { covered_through });
    }
    Ok(out)
}

/// The three index ranges of a scope (the group's, the region's, the global one), each read
/// in `seq` order up to the limit, merged, then joined to the record rows; with the hash of
/// the change at `$3` (a cursor's) on every row, and on a row of its own when the page is
/// empty (`seq` null), so that checking a cursor costs no statement of its own.
const SCAN_SQL: &str = "
    WITH hits AS (
        (SELECT seq FROM changes WHERE region = $1 AND grp = $2 AND seq > $3
         ORDER BY seq LIMIT $4)
        UNION
        (SELECT seq FROM changes WHERE region = $1 AND grp = '' AND seq > $3
         ORDER BY seq LIMIT $4)
        UNION
        (SELECT seq FROM changes WHERE region = '' AND grp = '' AND seq > $3
         ORDER BY seq LIMIT $4)),
    page AS (SELECT seq FROM hits ORDER BY seq LIMIT $4),
    rows AS (
        SELECT c.seq, c.hash, c.doc_id, d.kind, c.data,
               ($5::text IS NOT NULL AND c.pushed_by IS NOT DISTINCT FROM $5::text) AS own,
               (d.created_seq > $3
                AND ($5::text IS NULL OR d.created_by IS DISTINCT FROM $5::text)) AS new_doc
        FROM page JOIN changes c ON c.seq = page.seq JOIN documents d ON d.id = c.doc_id),
    at_cursor AS (SELECT (SELECT hash FROM changes WHERE seq = $3) AS hash)
    SELECT at_cursor.hash, rows.seq, rows.hash, rows.doc_id, rows.kind, rows.own, rows.new_doc,
           CASE WHEN rows.own OR rows.new_doc THEN NULL ELSE rows.data END
    FROM at_cursor LEFT JOIN rows ON true ORDER BY rows.seq";

/// The hash of the change at `q.after` and the page of the scan (see [`SCAN_SQL`]).
pub(super) async fn scan(
    client: &impl GenericClient,
    q: &ScanQuery,
    limit: u32,
) -> StorageResult<(Option<Hash>, Vec<ScanRow>)> {
    let stmt = client.prepare_cached(SCAN_SQL).await?;
    let reader = q.reader.as_ref().map(DeviceId::as_str);
    let rows = client
        .query(
            &stmt,
            &[
                &q.scope.region,
                &q.scope.group,
                &to_sql_seq(q.after)?,
                &i64::from(limit),
                &reader,
            ],
        )
        .await?;
    let at_cursor: Option<&[u8]> = rows.first().and_then(|r| r.get(0));
    let at_cursor = at_cursor.map(to_hash).transpose()?;
    let page = rows
        .iter()
        .filter(|r| r.get::<_, Option<i64>>(1).is_some())
        .map(|r| {
            Ok(ScanRow {
                seq: from_sql_seq(r.get(1)),
                hash: to_hash(r.get(2))?,
                doc_id: parse_id(r.get(3))?,
                kind: parse_id(r.get(4))?,
                pushed_by_reader: r.get(5),
                new_to_reader: r.get(6),
                data: r.get(7),
            })
        })
        .collect::<StorageResult<_>>()?;
    Ok((at_cursor, page))
}

/// Records' rows, each with its changes after the `seq` asked with it (see
/// [`SyncStorage::documents_since`](crate::storage::SyncStorage::documents_since)).
const DOCUMENTS_SINCE_SQL: &str =
    "SELECT d.id, d.kind, d.region, d.grp, d.created_seq, d.created_by,
            t.seqs, t.hashes, t.datas
     FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS u (id, after, n)
     JOIN documents d ON d.id = u.id
     LEFT JOIN LATERAL (
         SELECT array_agg(c.seq ORDER BY c.seq) AS seqs, array_agg(c.hash ORDER BY c.seq) AS hashes,
                array_agg(c.data ORDER BY c.seq) AS datas
         FROM changes c WHERE c.doc_id = d.id AND c.seq > u.after) t ON u.after IS NOT NULL
     ORDER BY u.n";

pub(super) async fn documents_since(
    client: &impl GenericClient,
    wanted: &[(RecordId, Option<u64>)],
) -> StorageResult<Vec<(DocMeta, Vec<StoredChange>)>> {
    let stmt = client.prepare_cached(DOCUMENTS_SINCE_SQL).await?;
    let ids: Vec<&str> = wanted.iter().map(|(id, _)| id.as_str()).collect();
    let after: Vec<Option<i64>> = wanted
        .iter()
        .map(|(_, after)| after.map(to_sql_seq).transpose())
        .collect::<StorageResult<_>>()?;
    let rows = client.query(&stmt, &[&ids, &after]).await?;
    rows.iter()
        .map(|row| Ok((doc_meta_row(row)?, changes_of(row, 6)?)))
        .collect()
}

/// The changes aggregated in columns `at` (seqs), `at + 1` (hashes), `at + 2` (data).
fn changes_of(row: &Row, at: usize) -> StorageResult<Vec<StoredChange>> {
    let seqs: Option<Vec<i64>> = row.get(at);
    let hashes: Option<Vec<Vec<u8>>> = row.get(at + 1);
    let datas: Option<Vec<Vec<u8>>> = row.get(at + 2);
    seqs.unwrap_or_default()
        .into_iter()
        .zip(hashes.unwrap_or_default())
        .zip(datas.unwrap_or_default())
        .map(|((seq, hash), data)| {
            Ok(StoredChange {
                seq: from_sql_seq(seq),
                hash: to_hash(&hash)?,
                data,
            })
        })
        .collect()
}

pub(super) async fn documents(
    client: &impl GenericClient,
    ids: &[RecordId],
) -> StorageResult<Vec<DocMeta>> {
    let stmt = client
        .prepare_cached(
            "SELECT d.id, d.kind, d.region, d.grp, d.created_seq, d.created_by
             FROM unnest($1::text[]) WITH ORDINALITY AS u (id, n)
             JOIN documents d ON d.id = u.id ORDER BY u.n",
        )
        .await?;
    let ids: Vec<&str> = ids.iter().map(RecordId::as_str).collect();
    let rows = client.query(&stmt, &[&ids]).await?;
    rows.iter().map(doc_meta_row).collect()
}

fn doc_meta_row(r: &Row) -> StorageResult<DocMeta> {
    let (id, kind, region, grp): (&str, &str, String, String) =
        (r.get(0), r.get(1), r.get(2), r.get(3));
    let created_by: Option<&str> = r.get(5);
    Ok(DocMeta {
        header: RecordHeader {
            kind: parse_id(kind)?,
            id: parse_id(id)?,
            scope: Scope::group(region, grp),
        },
        created_seq: from_sql_seq(r.get(4)),
        created_by: created_by.map(parse_id).transpose()?,
    })
}
