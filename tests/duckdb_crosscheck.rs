//! Cross-check against DuckDB: every USERID of the small synthetic app gets
//! the decision and per-table row counts DuckDB computed
//! (`fixtures/apps/small/README.md` says how the reference was made).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;

use serde_json::Value as Json;

use section_access::access::{Evaluator, Options};
use section_access::load::{LoadOptions, run_file};
use section_access::names::Identity;

#[test]
fn every_identity_agrees_with_duckdb() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/small");
    let app = run_file(&dir.join("app.qvs"), &LoadOptions::default()).unwrap();
    let reference: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("duckdb_audit.json")).unwrap())
            .unwrap();
    let reference = reference.as_object().unwrap();
    assert!(reference.len() >= 300);
    let evaluator = Evaluator::new(&app, Options::default());
    let mut failures = Vec::new();
    for (user, want) in reference {
        let d = evaluator.evaluate(&Identity::user(user));
        let granted = d.outcome.is_granted();
        if want["decision"].as_str() != Some(if granted { "granted" } else { "denied" }) {
            failures.push(format!("{user}: decision {:?}, duckdb {want}", d.outcome));
            continue;
        }
        if !granted {
            continue;
        }
        if want["access"].as_str() != d.access.map(|a| a.as_str()) {
            failures.push(format!("{user}: access {:?}, duckdb {want}", d.access));
        }
        let tables = d.tables(&app.data, &[]).unwrap();
        for t in tables {
            let key = t.name().to_lowercase();
            if want["rows"][&key].as_u64() != Some(t.count() as u64) {
                failures.push(format!(
                    "{user}: {} has {} rows, duckdb {}",
                    t.name(),
                    t.count(),
                    want["rows"][&key]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
