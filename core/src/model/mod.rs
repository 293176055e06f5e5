//! The domain model: what each record kind holds.

mod assignment;
mod case;
mod collection;
mod common;
mod directory;
mod reinspection;
mod template;
mod visit;

pub use assignment::{Assignment, AssignmentKind, ExpertContact};
pub use case::{Case, CaseEvent, CaseEventKind, CaseStatus, is_listed};
pub use collection::{Collection, CollectionKind};
pub use common::{GeoPoint, LocalizedText, Scope, Sector, Severity, Timestamp, now};
pub use directory::{
    Directory, DirectoryEntry, MAX_DIRECTORY_ENTRIES, MAX_DIRECTORY_TEXT, MAX_FORMER_NAMES,
    directory_text,
};
pub use reinspection::{NewReinspection, Reinspection, ReinspectionOutcome, ReinspectionTask};
pub use template::{AnswerKind, Criterion, Template, TemplateItem, TemplateSource};
pub use visit::{
    Answer, AnswerConflict, AnswerValue, Finding, MediaKind, MediaRef, NewFinding, NewVisit, Site,
    TemplateRef, Visit, VisitMode, VisitSummary,
};
