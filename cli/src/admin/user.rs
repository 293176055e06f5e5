//! `siteproof admin user add` and `unlock`: back-office web users (reviewer, sector department, admin),
//! each bound to a region. The password is read from `SITEPROOF_USER_PASSWORD` or from the
//! first line of standard input, never from the command line (it would show in `ps`).

use std::io::BufRead;

use clap::Subcommand;
use siteproof_core::Sector;
use siteproof_server::backoffice::{BackOffice, NewUser, Role};

use crate::CliError;

/// `siteproof admin user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a web user; prints its id.
    Add {
        /// Login name.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// reviewer, sector (a sector department) or admin.
        #[arg(long)]
        role: String,
        /// The region the user works in, e.g. hebei.shijiazhuang.
        #[arg(long)]
        region: String,
        /// For a sector department: a sector code it sees (repeat for several), e.g.
        /// fire_safety.
        #[arg(long = "sector")]
        sectors: Vec<String>,
    },
    /// Lift the login lock of an account (too many failed logins from several addresses);
    /// a running server applies it at the account's next attempt, within a second.
    Unlock {
        /// Login name.
        #[arg(long)]
        login: String,
    },
}

/// Runs a user command on the back office.
pub async fn run(command: UserCommand, office: &BackOffice) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            login,
            name,
            role,
            region,
            sectors,
        } => {
            let role: Role = role.parse()?;
            let sectors = sectors
                .iter()
                .map(|s| {
                    Sector::from_code(s)
                        .ok_or_else(|| CliError::Usage(format!("unknown sector {s:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if role == Role::SectorDepartment && sectors.is_empty() {
                return Err(CliError::Usage(
                    "a sector department needs at least one --sector".into(),
                ));
            }
            let password = match std::env::var("SITEPROOF_USER_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .map_err(|source| CliError::Io {
                            context: "cannot read the password from standard input".into(),
                            source,
                        })?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let id = office
                .create_user(NewUser {
                    login,
                    name,
                    password,
                    role,
                    region,
                    sectors,
                })
                .await?;
            println!("{id}");
        }
        UserCommand::Unlock { login } => {
            office.logins().unlock(&login).await?;
            println!("unlocked {login}");
        }
    }
    Ok(())
}
