//! SQL of the `bo_leads` table, filtered by the reader's [`Visibility`].

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::{LeadRow, LeadStatus};
use crate::backoffice::assignments::visits_for_lead;
use crate::identity::visibility::{Unsectored, Visibility};

/// A stored status, with `assigned` becoming `inspected` once a visit answers the lead.
pub(super) fn status_of(conn: &Connection, id: &str, stored: &str) -> rusqlite::Result<LeadStatus> {
    Ok(match stored {
        "dismissed" => LeadStatus::Dismissed,
        "assigned" if visits_for_lead(conn, id)? > 0 => LeadStatus::Inspected,
        "assigned" => LeadStatus::Assigned,
        _ => LeadStatus::Received,
    })
}

pub(super) fn list(
    conn: &Connection,
    vis: &Visibility,
    id: Option<&str>,
) -> rusqlite::Result<Vec<LeadRow>> {
    let mut sql = String::from(
        "SELECT id, region, sector, site, address, description, received_on, status,
                triage_note, triaged_by, assignment_id
         FROM bo_leads l WHERE 1=1",
    );
    let mut args = Vec::new();
    vis.rows(Unsectored::Shown)
        .to_sqlite("l")
        .append_to(&mut sql, &mut args);
    if let Some(id) = id {
        sql.push_str(" AND l.id = ?");
        args.push(Value::Text(id.into()));
    }
    sql.push_str(" ORDER BY l.received_on DESC, l.id LIMIT 1000");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((
                LeadRow {
                    id: r.get(0)?,
                    region: r.get(1)?,
                    sector: r.get(2)?,
                    site: r.get(3)?,
                    address: r.get(4)?,
                    description: r.get(5)?,
                    received_on: r.get(6)?,
                    status: LeadStatus::Received,
                    triage_note: r.get(8)?,
                    triaged_by: r.get(9)?,
                    assignment: r.get(10)?,
                },
                r.get::<_, String>(7)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(mut row, stored)| {
            row.status = status_of(conn, &row.id, &stored)?;
            Ok(row)
        })
        .collect()
}
