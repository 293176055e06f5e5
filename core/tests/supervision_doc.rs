//! The worked examples of `docs/supervision.md`, read from the page and scored by
//! `RiskFacts::score`: a change to a rule or to an example's numbers that the other does not
//! follow fails here.

use siteproof_core::{RiskFacts, RiskRule, Sector, Tier};

struct Example {
    name: String,
    facts: RiskFacts,
    points: Vec<u32>,
    score: u32,
    tier: Tier,
}

fn examples() -> Vec<Example> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/supervision.md");
    let doc = std::fs::read_to_string(path).expect("docs/supervision.md is readable");
    let section = doc
        .split("## Worked examples")
        .nth(1)
        .expect("the page has a worked examples section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out = Vec::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells[0] == "example" || cells[0].starts_with("---") {
            continue;
        }
        assert_eq!(cells.len(), 10, "an example row has 10 cells: {line}");
        let n = |i: usize| -> u32 {
            cells[i]
                .parse()
                .unwrap_or_else(|_| panic!("cell {i} of {line:?} is a number"))
        };
        out.push(Example {
            name: cells[0].to_owned(),
            facts: RiskFacts {
                sector: Sector::from_code(cells[1])
                    .unwrap_or_else(|| panic!("{:?} is a sector code", cells[1])),
                major_hazards: n(2),
                overdue_hazards: n(3),
                repeat_findings: n(4),
                leads: n(5),
                days_since_covert: (cells[6] != "never").then(|| n(6)),
            },
            points: cells[7]
                .split('+')
                .map(|p| p.trim().parse().expect("points are numbers"))
                .collect(),
            score: n(8),
            tier: Tier::from_code(cells[9]).expect("a tier letter"),
        });
    }
    out
}

#[test]
fn the_worked_examples_of_the_docs_score_as_written() {
    let examples = examples();
    assert!(
        examples.len() >= 8,
        "the page keeps its worked examples (found {})",
        examples.len()
    );
    let mut tiers = std::collections::BTreeSet::new();
    for e in &examples {
        let s = e.facts.score();
        let points: Vec<u32> = RiskRule::ALL.iter().map(|r| s.points_of(*r)).collect();
        assert_eq!(points, e.points, "points per rule of {:?}", e.name);
        assert_eq!(s.score, e.score, "score of {:?}", e.name);
        assert_eq!(
            e.points.iter().sum::<u32>(),
            e.score,
            "the points of {:?} add up to its score",
            e.name
        );
        assert_eq!(s.tier, e.tier, "tier of {:?}", e.name);
        for r in &s.reasons {
            assert!(r.points > 0 && !r.zh.is_empty() && !r.en.is_empty());
        }
        tiers.insert(s.tier);
    }
    assert_eq!(tiers.len(), 4, "the examples cover every tier");
}
