//! The server's layers only point down: every top-level module of `server/src` belongs to one
//! layer and names (`crate::...`) only modules of its own layer or below, and no two
//! top-level modules name each other in a circle. Read from the source, comments and unit
//! tests left out. `docs/ARCHITECTURE.md` shows the same map.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom to top. A new top-level module must be placed here.
const LAYERS: &[&[&str]] = &[
    // Foundations: errors, id rules, secrets, storage and blob traits with their backends,
    // bounded work.
    &[
        "error",
        "ids",
        "secret",
        "storage",
        "storage_suite",
        "blob",
        "work_gate",
        "metrics",
        "allocator",
    ],
    // Identity and security: principal, users, sessions, throttles, headers, visibility.
    &["identity"],
    // Features.
    &[
        "admin",
        "backup",
        "devices",
        "sync",
        "evidence",
        "tus",
        "backoffice",
    ],
    // Composition root and the web layer.
    &[
        "services",
        "caller",
        "http",
        "connections",
        "linger",
        "tls",
        "openapi",
        "observe",
        "health",
        "fuzz_entry",
        "lib",
    ],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("top-level module {module} is in no layer of tests/layers.rs"))
}

/// The source without comments and without its `#[cfg(test)]` module.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules that `code` names through `crate::`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::X, b::{c, d}};`: the first name of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_lowercase() || c == '_') => name.push(c),
                    c if item_start && c.is_whitespace() && name.is_empty() => {}
                    _ => {
                        if item_start && !name.is_empty() {
                            found.insert(std::mem::take(&mut name));
                        }
                        name.clear();
                        item_start = false;
                    }
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            let code = code_of(&std::fs::read_to_string(&path).expect("read file"));
            let named = named_modules(&code);
            let entry = edges.entry(module.clone()).or_default();
            entry.extend(named.into_iter().filter(|m| *m != module));
        }
    }
    edges
}

#[test]
fn layers_only_point_down() {
    let edges = edges();
    let mut upward = Vec::new();
    for (from, tos) in &edges {
        for to in tos {
            // Public re-exports of the crate root (`crate::Error`, ...) are types, not modules.
            if LAYERS.iter().all(|l| !l.contains(&to.as_str())) {
                continue;
            }
            if layer_of(to) > layer_of(from) {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports that point up: {upward:?}");
}

#[test]
fn no_import_cycles_between_top_level_modules() {
    let edges = edges();
    // Depth-first search for a back edge.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        let cycle = visit(node, &edges, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "an import cycle: {cycle:?}");
    }
    assert!(edges.len() > 10, "the source was read: {edges:?}");
}
