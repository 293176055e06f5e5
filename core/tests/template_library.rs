//! The checklist template library (`content/templates`, the 重大隐患标准库): every file
//! deserialises into a [`Template`], passes [`Template::validate`], is named after its id,
//! and the library as a whole covers every sector of the source policy's §13, with the
//! steel / aluminium / dust key-item sets (钢8条、铝7条、粉6条) at their official sizes.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use siteproof_core::{AnswerKind, Sector, Severity, Template};

/// The key-item templates and the number of items each must have.
const KEY_ITEM_SETS: [(&str, usize); 3] = [
    ("industry-trade-steel-8", 8),
    ("industry-trade-aluminium-7", 7),
    ("industry-trade-dust-6", 6),
];

fn library_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("content")
        .join("templates")
}

/// Every `*.json` file in the library, sorted by name, with its text.
fn library_files() -> Vec<(PathBuf, String)> {
    let dir = library_dir();
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<(PathBuf, String)> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{} is not UTF-8 text: {e}", path.display()));
            (path, text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no templates found in {}", dir.display());
    files
}

/// Every template in the library, parsed and validated, with its file stem.
fn library() -> Vec<(String, Template)> {
    library_files()
        .into_iter()
        .map(|(path, text)| {
            let template: Template = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} does not deserialise: {e}", path.display()));
            template
                .validate()
                .unwrap_or_else(|e| panic!("{} does not validate: {e}", path.display()));
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            (stem, template)
        })
        .collect()
}

fn is_library_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

#[test]
fn every_file_is_named_after_its_template_id() {
    for (stem, template) in library() {
        assert_eq!(
            stem,
            template.id.as_str(),
            "file {stem}.json holds template {}",
            template.id
        );
        assert!(
            is_library_id(template.id.as_str()),
            "template id {} is not lowercase ascii, digits and '-'",
            template.id
        );
        assert!(
            template.version >= 1,
            "{}: version must be at least 1",
            template.id
        );
    }
}

#[test]
fn template_ids_are_unique() {
    let mut seen = HashSet::new();
    for (_, template) in library() {
        assert!(
            seen.insert(template.id.clone()),
            "template id {} appears in two files",
            template.id
        );
    }
}

#[test]
fn items_are_complete_and_unique_within_each_template() {
    for (_, template) in library() {
        let t = &template.id;
        assert!(
            !template.title.zh.trim().is_empty() && !template.title.en.trim().is_empty(),
            "{t}: title"
        );
        assert!(
            !template.source.document.trim().is_empty(),
            "{t}: source document"
        );
        assert!(
            !template.source.reference.trim().is_empty(),
            "{t}: source reference"
        );
        let mut seen = HashSet::new();
        for item in &template.items {
            let i = &item.id;
            assert!(
                seen.insert(item.id.clone()),
                "{t}: item id {i} appears twice"
            );
            assert!(
                is_library_id(i.as_str()),
                "{t}: item id {i} is not lowercase ascii, digits and '-'"
            );
            assert!(!item.text.zh.trim().is_empty(), "{t}/{i}: empty zh text");
            assert!(!item.text.en.trim().is_empty(), "{t}/{i}: empty en text");
            assert!(
                !item.criterion.document.trim().is_empty(),
                "{t}/{i}: empty criterion document"
            );
            assert!(
                !item.criterion.clause.trim().is_empty(),
                "{t}/{i}: empty criterion clause"
            );
            match &item.answer {
                AnswerKind::Number { unit: Some(unit) } => {
                    assert!(
                        !unit.trim().is_empty(),
                        "{t}/{i}: a number unit, when given, is not blank"
                    );
                }
                AnswerKind::Choice { choices } => {
                    let distinct: HashSet<&String> = choices.iter().collect();
                    assert!(
                        choices.len() >= 2,
                        "{t}/{i}: a choice needs at least two choices"
                    );
                    assert_eq!(distinct.len(), choices.len(), "{t}/{i}: duplicate choices");
                    assert!(
                        choices.iter().all(|c| !c.trim().is_empty()),
                        "{t}/{i}: blank choice"
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn files_are_pretty_printed_with_two_space_indent() {
    for (path, text) in library_files() {
        let name = path.display();
        assert!(
            text.starts_with("{\n  \""),
            "{name}: expected a pretty-printed object with 2-space indent"
        );
        assert!(
            text.ends_with("}\n"),
            "{name}: expected a final newline after the closing brace"
        );
        assert!(!text.contains('\t'), "{name}: tabs are not used for indent");
        for (n, line) in text.lines().enumerate() {
            let indent = line.len() - line.trim_start_matches(' ').len();
            assert_eq!(indent % 2, 0, "{name}:{}: odd indent", n + 1);
        }
    }
}

#[test]
fn every_sector_has_at_least_one_template() {
    let library = library();
    // Per-sector counts: templates, items, major items.
    let mut counts: BTreeMap<Sector, (usize, usize, usize)> = BTreeMap::new();
    for (_, template) in &library {
        let entry = counts.entry(template.sector).or_default();
        entry.0 += 1;
        entry.1 += template.items.len();
        entry.2 += template
            .items
            .iter()
            .filter(|i| i.severity == Severity::Major)
            .count();
    }
    println!(
        "{:<24} {:>9} {:>6} {:>6}",
        "sector", "templates", "items", "major"
    );
    for (sector, (templates, items, major)) in &counts {
        println!(
            "{:<24} {templates:>9} {items:>6} {major:>6}",
            format!("{sector:?}")
        );
    }
    let total_items: usize = counts.values().map(|c| c.1).sum();
    println!("{:<24} {:>9} {total_items:>6}", "total", library.len());
    for sector in Sector::ALL {
        assert!(
            counts.contains_key(&sector),
            "no template for sector {sector:?}"
        );
    }
}

#[test]
fn steel_aluminium_and_dust_key_item_sets_have_their_official_sizes() {
    let library = library();
    for (id, expected) in KEY_ITEM_SETS {
        let template = library
            .iter()
            .map(|(_, t)| t)
            .find(|t| t.id.as_str() == id)
            .unwrap_or_else(|| panic!("key-item template {id} is missing"));
        assert_eq!(
            template.sector,
            Sector::IndustryTrade,
            "{id} belongs to industry and trade"
        );
        assert_eq!(
            template.items.len(),
            expected,
            "{id} must have exactly {expected} items"
        );
    }
}
