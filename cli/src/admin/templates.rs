//! `siteproof admin template import|list|publish`: the template library, the same as the
//! back office's template page.

use std::path::{Path, PathBuf};

use siteproof_server::backoffice::BackOffice;

use super::TemplateCommand;
use crate::CliError;

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Io {
        context: format!("cannot read {}", path.display()),
        source,
    })
}

/// The JSON files named, directories expanded to their `*.json` files (sorted).
fn json_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| CliError::Io {
                context: format!("cannot list {}", path.display()),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn failed(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("{}: {e}", path.display()))
}

/// Runs a template command on the back office.
pub(super) async fn run(command: TemplateCommand, office: &BackOffice) -> Result<(), CliError> {
    match command {
        TemplateCommand::Import { paths } => {
            for file in json_files(&paths)? {
                let t = office
                    .import_template(&read(&file)?)
                    .await
                    .map_err(|e| failed(&file, e))?;
                println!("{}@{}", t.id, t.version);
            }
        }
        TemplateCommand::List => {
            for e in office.template_library().await? {
                let t = &e.template;
                println!(
                    "{}@{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.version,
                    e.state.code(),
                    t.sector.code(),
                    t.items.len(),
                    t.title.zh
                );
            }
        }
        TemplateCommand::Publish { templates } => {
            for name in templates {
                let path = PathBuf::from(&name);
                let (id, version) = if path.extension().is_some_and(|x| x == "json") {
                    let t = office
                        .import_template(&read(&path)?)
                        .await
                        .map_err(|e| failed(&path, e))?;
                    (t.id.to_string(), t.version)
                } else {
                    let (id, version) = name.rsplit_once('@').ok_or_else(|| {
                        CliError::Usage(format!("{name:?} is neither a .json file nor id@version"))
                    })?;
                    let version = version
                        .parse()
                        .map_err(|_| CliError::Usage(format!("{name:?}: bad version")))?;
                    (id.to_owned(), version)
                };
                let record = office.publish_draft(&id, version).await?;
                println!("{record}");
            }
        }
    }
    Ok(())
}
