//! The domain model: what each record kind holds.

mod case;
mod common;
mod template;
mod visit;

pub use case::{Case, CaseEvent, CaseEventKind, CaseStatus};
pub use common::{GeoPoint, LocalizedText, Scope, Sector, Severity, Timestamp, now};
pub use template::{AnswerKind, Criterion, Template, TemplateItem, TemplateSource};
pub use visit::{
    Answer, AnswerConflict, AnswerValue, Finding, MediaKind, MediaRef, NewFinding, NewVisit, Site,
    TemplateRef, Visit, VisitMode, VisitSummary,
};
