//! The change log's SQL: storing pushes (with their snapshots), reading records back, and the
//! scope scan that pulls are built from.

use rusqlite::{Connection, OptionalExtension, Row, params};
use siteproof_core::{DeviceId, RecordHeader, RecordId, RecordKind, Scope};

use crate::storage::columns::{from_sql_seq, parse_id, to_hash, to_sql_seq};
use crate::storage::{
    DocMeta, FullDocument, PushWrite, RecordStored, ScanQuery, ScanRow, StorageError,
    StorageResult, StoredChange,
};

/// Stores a snapshot unless a newer one is there.
pub(super) const SNAPSHOT_SQL: &str =
    "INSERT INTO snapshots (doc_id, seq, data) VALUES (?1, ?2, ?3)
     ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq, data = excluded.data
     WHERE excluded.seq > snapshots.seq";

pub(super) fn full_document(
    conn: &Connection,
    id: &RecordId,
) -> StorageResult<Option<FullDocument>> {
    let meta = conn
        .prepare_cached(
            "SELECT id, kind, region, grp, created_seq, created_by FROM documents WHERE id = ?1",
        )?
        .query_row([id.as_str()], doc_meta_row)
        .optional()?
        .transpose()?;
    let Some(meta) = meta else { return Ok(None) };
    let snapshot: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, data FROM snapshots WHERE doc_id = ?1")?
        .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (snapshot_seq, snapshot) = match snapshot {
        Some((seq, data)) => (from_sql_seq(seq), Some(data)),
        None => (0, None),
    };
    let trailing = changes_after(conn, id, snapshot_seq)?;
    Ok(Some(FullDocument {
        header: meta.header,
        snapshot,
        snapshot_seq,
        trailing,
    }))
}

/// A record's changes after a position, in log order.
pub(super) const CHANGES_AFTER_SQL: &str =
    "SELECT seq, hash, data FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq";

pub(super) fn changes_after(
    conn: &Connection,
    id: &RecordId,
    after: u64,
) -> StorageResult<Vec<StoredChange>> {
    let mut stmt = conn.prepare_cached(CHANGES_AFTER_SQL)?;
    let rows = stmt.query_map(params![id.as_str(), to_sql_seq(after)?], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, hash, data) = row?;
        out.push(StoredChange {
            seq: from_sql_seq(seq),
            hash: to_hash(&hash)?,
            data,
        });
    }
    Ok(out)
}

/// Whether a record with this id is stored.
pub(super) fn record_exists(conn: &Connection, id: &RecordId) -> StorageResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM documents WHERE id = ?1")?
        .query_row([id.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(super) fn store_push(conn: &Connection, push: &PushWrite) -> StorageResult<Vec<RecordStored>> {
    let pushed_by = push.pushed_by.as_ref().map(DeviceId::as_str);
    let mut existing =
        conn.prepare_cached("SELECT kind, region, grp FROM documents WHERE id = ?1")?;
    let mut create = conn.prepare_cached(
        "INSERT INTO documents (id, kind, region, grp, created_seq, created_by)
         VALUES (?1, ?2, ?3, ?4, 0, ?5)",
    )?;
    let mut hashes_after =
        conn.prepare_cached("SELECT hash FROM changes WHERE doc_id = ?1 AND seq > ?2")?;
    let mut last_seq = conn.prepare_cached("SELECT MAX(seq) FROM changes WHERE doc_id = ?1")?;
    let mut put_snapshot = conn.prepare_cached(SNAPSHOT_SQL)?;
    let mut out = Vec::with_capacity(push.records.len());
    let mut set_created = conn.prepare_cached(
        "UPDATE documents SET created_seq = (SELECT MIN(seq) FROM changes WHERE doc_id = ?1)
         WHERE id = ?1",
    )?;
    for record in &push.records {
        let h = &record.header;
        let stored: Option<(String, String, String)> = existing
            .query_row([h.id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let is_new = stored.is_none();
        // Changes stored after what the writer knows, that are not among the pushed ones,
        // mean its copy is not the whole record: then it must not become the snapshot.
        let pushed: std::collections::HashSet<&[u8]> =
            record.changes.iter().map(|(h, _)| &h[..]).collect();
        let mut foreign = false;
        if !is_new {
            let mut rows =
                hashes_after.query(params![h.id.as_str(), to_sql_seq(record.known_through)?])?;
            while let Some(row) = rows.next()? {
                if !pushed.contains(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?) {
                    foreign = true;
                    break;
                }
            }
        }
        match stored {
            Some((kind, region, grp)) => {
                if kind != h.kind.code() || region != h.scope.region || grp != h.scope.group {
                    return Err(StorageError::Conflict(format!(
                        "record {} exists with another kind or scope",
                        h.id
                    )));
                }
            }
            None => {
                create.execute(params![
                    h.id.as_str(),
                    h.kind.code(),
                    h.scope.region,
                    h.scope.group,
                    pushed_by
                ])?;
            }
        }
        insert_changes(conn, record, pushed_by)?;
        if is_new {
            set_created.execute([h.id.as_str()])?;
        }
        let last: Option<i64> = last_seq.query_row([h.id.as_str()], |r| r.get(0))?;
        let covered_through = match (foreign, last) {
            (false, Some(last)) => Some(from_sql_seq(last)),
            _ => None,
        };
        if let (Some(seq), Some(snapshot)) = (covered_through, &record.snapshot) {
            put_snapshot.execute(params![h.id.as_str(), to_sql_seq(seq)?, snapshot])?;
        }
        out.push(RecordStored { covered_through });
    }
    Ok(out)
}

/// Changes inserted by one statement at most: a push of ten answers is one statement, and
/// the log's `AUTOINCREMENT` counter is read and written once per statement, not per change.
const INSERT_ROWS: usize = 16;

/// `INSERT INTO changes` of `rows` (1 to [`INSERT_ROWS`]) changes of one record: `?1` to
/// `?4` the record's id, region, group and pusher, then each change's hash and data.
fn insert_sql(rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=INSERT_ROWS)
            .map(|rows| {
                let values: Vec<String> = (0..rows)
                    .map(|i| format!("(?1, ?{}, ?2, ?3, ?4, ?{})", 5 + 2 * i, 6 + 2 * i))
                    .collect();
                format!(
                    "INSERT INTO changes (doc_id, hash, region, grp, pushed_by, data) VALUES {}
                     ON CONFLICT (doc_id, hash) DO NOTHING",
                    values.join(", ")
                )
            })
            .collect()
    });
    &all[rows.clamp(1, INSERT_ROWS) - 1]
}

/// Appends a record's changes to the log, in their order, [`INSERT_ROWS`] per statement.
fn insert_changes(
    conn: &Connection,
    record: &crate::storage::RecordWrite,
    pushed_by: Option<&str>,
) -> StorageResult<()> {
    let h = &record.header;
    for chunk in record.changes.chunks(INSERT_ROWS) {
        let mut insert = conn.prepare_cached(insert_sql(chunk.len()))?;
        insert.raw_bind_parameter(1, h.id.as_str())?;
        insert.raw_bind_parameter(2, &h.scope.region)?;
        insert.raw_bind_parameter(3, &h.scope.group)?;
        insert.raw_bind_parameter(4, pushed_by)?;
        for (i, (hash, data)) in chunk.iter().enumerate() {
            insert.raw_bind_parameter(5 + 2 * i, &hash[..])?;
            insert.raw_bind_parameter(6 + 2 * i, data)?;
        }
        insert.raw_execute()?;
    }
    Ok(())
}

/// The three index ranges of a scope (the group's, the region's, the global one), merged in
/// `seq` order by SQLite's compound-select merge, then joined to the record rows.
pub(super) const SCAN_SQL: &str = "
    WITH hits(seq) AS (
        SELECT seq FROM changes WHERE region = ?1 AND grp = ?2 AND seq > ?3
        UNION SELECT seq FROM changes WHERE region = ?1 AND grp = '' AND seq > ?3
        UNION SELECT seq FROM changes WHERE region = '' AND grp = '' AND seq > ?3
        ORDER BY seq LIMIT ?4),
    rows AS (
        SELECT c.seq, c.hash, c.doc_id, d.kind, c.data,
               (?5 IS NOT NULL AND c.pushed_by IS ?5) AS own,
               (d.created_seq > ?3 AND (?5 IS NULL OR d.created_by IS NOT ?5)) AS new_doc
        FROM hits JOIN changes c ON c.seq = hits.seq JOIN documents d ON d.id = c.doc_id)
    SELECT seq, hash, doc_id, kind, own, new_doc,
           CASE WHEN own OR new_doc THEN NULL ELSE data END
    FROM rows ORDER BY seq";

pub(super) fn scan(conn: &Connection, q: &ScanQuery, limit: u32) -> StorageResult<Vec<ScanRow>> {
    let mut stmt = conn.prepare_cached(SCAN_SQL)?;
    let mut rows = stmt.query(params![
        q.scope.region,
        q.scope.group,
        to_sql_seq(q.after)?,
        limit,
        q.reader.as_ref().map(DeviceId::as_str)
    ])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let doc_id: String = r.get(2)?;
        let kind: String = r.get(3)?;
        out.push(ScanRow {
            seq: from_sql_seq(r.get(0)?),
            hash: to_hash(&r.get::<_, Vec<u8>>(1)?)?,
            doc_id: parse_id(&doc_id)?,
            kind: parse_id::<RecordKind>(&kind)?,
            pushed_by_reader: r.get(4)?,
            new_to_reader: r.get(5)?,
            data: r.get(6)?,
        });
    }
    Ok(out)
}

pub(super) fn doc_meta_row(r: &Row<'_>) -> rusqlite::Result<StorageResult<DocMeta>> {
    let (id, kind, region, grp): (String, String, String, String) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    let created_seq: i64 = r.get(4)?;
    let created_by: Option<String> = r.get(5)?;
    Ok((|| {
        Ok(DocMeta {
            header: RecordHeader {
                kind: parse_id(&kind)?,
                id: parse_id(&id)?,
                scope: Scope::group(region, grp),
            },
            created_seq: from_sql_seq(created_seq),
            created_by: created_by.as_deref().map(parse_id).transpose()?,
        })
    })())
}
