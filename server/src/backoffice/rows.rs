//! The rows the office's pages read: visits, findings, collections and cases as the index
//! stores them, and the visit list's filter and counts. The storage's
//! [`OfficeIndexStore`](crate::storage::OfficeIndexStore) defines them.

pub use crate::storage::{
    CaseRow, CollectionRow, FindingRow, IndexRows, LedgerFilter, ReinspectionRow, VisitCounts,
    VisitFilter, VisitRow,
};
