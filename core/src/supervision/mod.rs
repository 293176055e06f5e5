//! Tiered supervision (分级分类差异化执法): the explainable risk score of an enterprise and its
//! tier ([`risk`]). Pure functions of facts the office gathers; the rules and their worked
//! examples are `docs/supervision.md`, and the tests check those examples.

pub mod risk;

pub use risk::{Reason, RiskFacts, RiskRule, RiskScore, SectorRisk, Tier};
