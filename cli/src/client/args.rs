//! The command line of `siteproof client`: its options and subcommands (clap).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use siteproof_core::VisitMode;

/// Options of `siteproof client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The client's folder (store and media).
    #[arg(long, env = "SITEPROOF_HOME", default_value = "siteproof-client")]
    pub(super) home: PathBuf,
    #[command(subcommand)]
    pub(super) command: ClientCommand,
}

#[derive(Debug, Subcommand)]
pub(super) enum ClientCommand {
    /// Enroll this client into a group with a one-time code, then sync.
    Enroll {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// The one-time enrollment code.
        #[arg(long)]
        code: String,
        /// The inspector's name, recorded with every capture.
        #[arg(long)]
        inspector: String,
        /// A name for this device on the server.
        #[arg(long, default_value = "laptop")]
        device_name: String,
    },
    /// List the template versions this client holds.
    Templates,
    /// Start a visit; prints its id. With `--enterprise`, at an enterprise of the region's
    /// directory (`client enterprises`), instead of `--site`, `--address` and `--credit-code`.
    Create {
        /// Site (enterprise) name.
        #[arg(
            long,
            required_unless_present = "enterprise",
            conflicts_with = "enterprise"
        )]
        site: Option<String>,
        /// Site address.
        #[arg(long, default_value = "", conflicts_with = "enterprise")]
        address: String,
        /// Unified social credit code.
        #[arg(long, conflicts_with = "enterprise")]
        credit_code: Option<String>,
        /// The credit code of an enterprise of the region's directory (`client enterprises`):
        /// the visit takes its name, credit code and address.
        #[arg(long)]
        enterprise: Option<String>,
        /// Sector code, e.g. hazardous_chemicals, gas, fire_safety (with --enterprise, the
        /// checklist's when not given).
        #[arg(long, required_unless_present = "enterprise")]
        sector: Option<String>,
        /// Template id.
        #[arg(long)]
        template: String,
        /// Template version.
        #[arg(long = "template-version", default_value_t = 1)]
        template_version: u32,
        /// Covert (暗访) or announced (明查).
        #[arg(long, value_enum, default_value_t = Mode::Covert)]
        mode: Mode,
        /// Team members (repeat).
        #[arg(long)]
        team: Vec<String>,
    },
    /// List the enterprises of this client's region (the directory that arrives with `sync`),
    /// by name, as JSON. Reads the local store only.
    Enterprises {
        /// Only those whose credit code, name, former name or address contains this (any case).
        #[arg(long)]
        search: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
    },
    /// List the pushes (assignments) the office sent this client's group, as JSON.
    Assignments,
    /// Start a visit from an assignment (its site, its checklist); prints the visit id.
    Start {
        /// Assignment id.
        assignment: String,
        /// Template id, when the assignment names no checklist.
        #[arg(long)]
        template: Option<String>,
        /// Template version, with --template.
        #[arg(long = "template-version", default_value_t = 1)]
        template_version: u32,
        /// Covert (暗访) or announced (明查).
        #[arg(long, value_enum, default_value_t = Mode::Covert)]
        mode: Mode,
        /// Team members (repeat).
        #[arg(long)]
        team: Vec<String>,
    },
    /// Write a work update or practice for the office; prints its id.
    Collect {
        /// work-update or practice.
        #[arg(long, value_enum)]
        kind: Collect,
        /// Title.
        #[arg(long)]
        title: String,
        /// Text.
        #[arg(long, default_value = "")]
        body: String,
    },
    /// List the group's work updates and practices, as JSON.
    Collections,
    /// Answer a checklist item: pass, fail, na, number:<x>, text:<t> or choice:<c>.
    Answer {
        /// Visit id.
        visit: String,
        /// Item id.
        item: String,
        /// The value.
        value: String,
        /// A note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Record a finding (hazard); prints its id.
    Finding {
        /// Visit id.
        visit: String,
        /// What was found.
        #[arg(long)]
        description: String,
        /// major or general.
        #[arg(long, value_enum)]
        severity: Sev,
        /// The related item.
        #[arg(long)]
        item: Option<String>,
        /// Fixed on the spot.
        #[arg(long)]
        fixed: bool,
        /// Interim control measures.
        #[arg(long)]
        interim: Option<String>,
    },
    /// List visits, newest first. Records held but unreadable by this version are named on
    /// stderr.
    List,
    /// Print a visit (and any conflicting answers) as JSON; for a record held but unreadable,
    /// `{"unreadable": ...}` with the field that does not match.
    Show {
        /// Visit id.
        visit: String,
    },
    /// Push what was captured and pull what changed.
    Sync,
    /// Merge directly with a teammate's device of the same group, no server needed.
    Peer {
        #[command(subcommand)]
        command: super::peer::PeerCommand,
    },
    /// The hazards a re-inspection (复查) names, with the original finding and evidence and
    /// the results recorded in --visit, as JSON (read offline).
    Reinspection {
        /// The re-inspection assignment's id.
        assignment: String,
        /// The re-inspection visit (started with `start`), to show its results.
        #[arg(long)]
        visit: Option<String>,
    },
    /// Record a re-inspection result for one hazard in a re-inspection visit, with photos
    /// (attached, then synced and uploaded); prints the result's id.
    Reinspect {
        /// The re-inspection visit (started from the assignment with `start`).
        visit: String,
        /// The hazard (ledger entry id, from `reinspection`).
        case: String,
        /// rectified or not-rectified.
        #[arg(long, value_enum)]
        outcome: Outcome,
        /// A note.
        #[arg(long)]
        note: Option<String>,
        /// Photos taken on the re-inspection.
        files: Vec<PathBuf>,
    },
    /// Attach files to a visit and upload them (resumable: run again after a cut).
    Upload {
        /// Visit id.
        visit: String,
        /// Photo, video or audio files.
        files: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum Mode {
    Covert,
    Announced,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum Outcome {
    Rectified,
    NotRectified,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum Collect {
    WorkUpdate,
    Practice,
}

impl Mode {
    pub(super) fn visit_mode(self) -> VisitMode {
        match self {
            Mode::Covert => VisitMode::Covert,
            Mode::Announced => VisitMode::Announced,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum Sev {
    Major,
    General,
}
