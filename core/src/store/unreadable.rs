//! Records this app holds but cannot read. What arrives from the server or a peer is checked
//! against the model before it is indexed; a record that fails is kept as received (its
//! chunks stay, so nothing is lost and a later update can repair it), left out of every list
//! and count, and listed here. Sync and enrollment go on around it.

use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Store, index};
use crate::document::RecordHeader;
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{Timestamp, now};
use crate::record_check;

/// A record held but not readable by this version of the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnreadableRecord {
    /// The record.
    pub id: RecordId,
    /// Its kind, as its header says.
    pub kind: String,
    /// The first field that does not match the model, as a path from the document root.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
    /// When it became unreadable here.
    pub since: Timestamp,
}

/// What the check of a received record found: readable (with its visit's index row, when the
/// check read it), or the field that does not match the model.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Checked {
    Readable(Option<index::VisitRow>),
    Unreadable { path: String, reason: String },
}

/// The whole-record check of a received record, and its visit's index row from the same read
/// of it. Needs no store: it can run before the store is taken. Errors other than the
/// content's are returned.
pub(crate) fn check_whole(header: &RecordHeader, doc: &AutoCommit) -> Result<Checked> {
    match record_check::check_reading(doc, &header.id, None) {
        Ok(read) => Ok(Checked::Readable(read.as_ref().map(index::VisitRow::of))),
        Err(Error::InvalidRecord { path, reason, .. }) => Ok(Checked::Unreadable { path, reason }),
        Err(e) => Err(e),
    }
}

/// Indexes a received record if it reads as the model; otherwise drops its index rows and
/// lists it as unreadable. `touched` names what received changes wrote to a record held
/// before: only that is checked, unless the record was unreadable (then all of it is). Errors
/// other than the content's are returned.
pub(crate) fn reindex_received(
    tx: &Transaction<'_>,
    header: &RecordHeader,
    doc: &AutoCommit,
    touched: Option<&record_check::Touched>,
) -> Result<()> {
    let checked = match touched {
        Some(touched) if get(tx, &header.id)?.is_none() => {
            match record_check::check_update(doc, &header.id, None, touched) {
                Ok(()) => Checked::Readable(None),
                Err(Error::InvalidRecord { path, reason, .. }) => {
                    Checked::Unreadable { path, reason }
                }
                Err(e) => return Err(e),
            }
        }
        _ => check_whole(header, doc)?,
    };
    write_checked(tx, header, doc, &checked)
}

/// Writes what the check of a received record found: its index rows, or its entry here.
pub(crate) fn write_checked(
    tx: &Transaction<'_>,
    header: &RecordHeader,
    doc: &AutoCommit,
    checked: &Checked,
) -> Result<()> {
    match checked {
        Checked::Readable(row) => {
            tx.prepare_cached("DELETE FROM unreadable WHERE id = ?1")?
                .execute([header.id.as_str()])?;
            index::reindex_with(tx, header, doc, row.as_ref())
        }
        Checked::Unreadable { path, reason } => {
            tracing::warn!(record = %header.id, %path, %reason, "received record is not readable; kept aside");
            index::unindex(tx, &header.id)?;
            tx.prepare_cached(
                "INSERT INTO unreadable (id, kind, path, reason, since) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET path = excluded.path, reason = excluded.reason",
            )?
            .execute(params![
                header.id.as_str(),
                header.kind.code(),
                path,
                reason,
                now()
            ])?;
            Ok(())
        }
    }
}

/// The unreadable entry of record `id`, if it is unreadable.
pub(crate) fn get(conn: &Connection, id: &RecordId) -> Result<Option<UnreadableRecord>> {
    conn.prepare_cached("SELECT id, kind, path, reason, since FROM unreadable WHERE id = ?1")?
        .query_row([id.as_str()], row)
        .optional()?
        .map(finish)
        .transpose()
}

type Row = (String, String, String, String, i64);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn finish((id, kind, path, reason, since): Row) -> Result<UnreadableRecord> {
    Ok(UnreadableRecord {
        id: id.parse()?,
        kind,
        path,
        reason,
        since,
    })
}

/// Fails with [`Error::InvalidRecord`] if record `id` is held but unreadable: what readers
/// of one record call first, so the caller learns why instead of a hydration error.
pub(crate) fn refuse(conn: &Connection, id: &RecordId) -> Result<()> {
    match get(conn, id)? {
        Some(u) => Err(Error::InvalidRecord {
            id: u.id.to_string(),
            path: u.path,
            reason: u.reason,
        }),
        None => Ok(()),
    }
}

impl Store {
    /// Every record held but not readable by this version of the app, oldest first. They are
    /// left out of lists and counts, never pushed, and read again whenever an update arrives.
    pub fn unreadable_records(&self) -> Result<Vec<UnreadableRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, path, reason, since FROM unreadable ORDER BY since, id",
        )?;
        let rows = stmt.query_map([], row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(finish(r?)?);
        }
        Ok(out)
    }

    /// The unreadable entry of record `id`, or `None` if it is readable or not held.
    pub fn unreadable_record(&self, id: &RecordId) -> Result<Option<UnreadableRecord>> {
        get(&self.conn, id)
    }
}
