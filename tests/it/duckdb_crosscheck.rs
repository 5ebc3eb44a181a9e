//! Cross-check against DuckDB: every USERID of the small synthetic app gets
//! the decision, access level and per-table row counts DuckDB computed
//! (`fixtures/apps/small/README.md` says how the reference was made), both
//! evaluated one by one and through the grouped audit.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value as Json};

use section_access::access::{Evaluator, Options};
use section_access::audit::{Audit, Verdict};
use section_access::load::{App, LoadOptions, run_file};
use section_access::names::Identity;

/// The small app and DuckDB's answer per USERID.
fn small_app() -> (App, Map<String, Json>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/small");
    let app = run_file(&dir.join("app.qvs"), &LoadOptions::default()).unwrap();
    let reference: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("duckdb_audit.json")).unwrap())
            .unwrap();
    let Json::Object(reference) = reference else {
        panic!("duckdb_audit.json is not an object");
    };
    assert!(reference.len() >= 300);
    (app, reference)
}

#[test]
fn every_identity_agrees_with_duckdb() {
    let (app, reference) = small_app();
    let reference = &reference;
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

/// The grouped audit (each listed USERID with no groups, as
/// `duckdb_ref.py DIR audit` evaluates them) gives the same answers.
#[test]
fn audit_counts_agree_with_duckdb_for_every_userid() {
    let (app, reference) = small_app();
    let reference = &reference;
    let audit = Audit::run(&app, &Options::default(), &[], &|_, _| {});
    let by_user: HashMap<String, &Verdict> = audit
        .entries
        .iter()
        .filter(|e| e.identity.groups.is_empty() && e.identity.email.is_none())
        .filter_map(|e| Some((e.identity.userid.as_ref()?.to_string(), audit.grant_of(e)?)))
        .collect();
    assert_eq!(
        by_user.len(),
        reference.len(),
        "the audit names every listed USERID"
    );
    let mut failures = Vec::new();
    for (user, want) in reference {
        let Some(g) = by_user.get(user.as_str()) else {
            failures.push(format!("{user}: not audited"));
            continue;
        };
        if want["decision"].as_str() != Some(g.decision()) {
            failures.push(format!("{user}: {} vs duckdb {want}", g.decision()));
            continue;
        }
        if !g.is_granted() {
            continue;
        }
        if want["access"].as_str() != g.access.map(|a| a.as_str()) {
            failures.push(format!("{user}: access {:?} vs duckdb {want}", g.access));
        }
        for t in &g.view.tables {
            let name = &t.name;
            let key = name.to_lowercase();
            if want["rows"][&key].as_u64() != Some(t.rows as u64) {
                failures.push(format!(
                    "{user}: {name} {} vs duckdb {}",
                    t.rows, want["rows"][&key]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The grouping did its job: no more decisions than identities, and the
    // data was reduced once per distinct selection.
    assert!(audit.decided <= audit.entries.len());
    assert!(audit.reductions <= audit.decided);
}
