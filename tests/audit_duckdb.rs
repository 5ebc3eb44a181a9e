//! The grouped audit against DuckDB: every USERID of the small synthetic
//! app (`../shared/bench/duckdb_ref.py DIR audit`: each listed USERID with no
//! groups) gets DuckDB's decision, access level and rows per table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use section_access::access::Options;
use section_access::audit::Audit;
use section_access::load::{LoadOptions, run_file};

#[test]
fn audit_counts_agree_with_duckdb_for_every_userid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/apps/small");
    let app = run_file(&dir.join("app.qvs"), &LoadOptions::default()).unwrap();
    let reference: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("duckdb_audit.json")).unwrap())
            .unwrap();
    let reference = reference.as_object().unwrap();
    let audit = Audit::run(&app, &Options::default(), &[], &mut |_, _| {});
    let by_user: HashMap<String, &section_access::audit::Grant> = audit
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
        for (name, t) in &g.view.tables {
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
