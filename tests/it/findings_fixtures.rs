//! Walks `fixtures/findings/<name>/`: runs `script.qvs`, computes the
//! findings and compares them with `expected.json`, a list of
//! `{"code", "severity", "line", "message"}` in output order (errors first).
//! The list is exact: a fixture shows both that its finding fires and that
//! nothing else does; `clean/` expects none. Every finding code the crate
//! documents has a fixture (checked below). A new finding is a new folder.

use std::path::Path;

use serde_json::{Value as Json, json};

use section_access::access::Options;
use section_access::audit::findings;
use section_access::load::{LoadOptions, run_file};

#[test]
fn every_fixture_gives_exactly_its_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/findings");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 18, "fixtures missing: {dirs:?}");
    let mut failures = Vec::new();
    let mut codes = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let app = run_file(&dir.join("script.qvs"), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<Json> = findings(&app, &Options::default())
            .iter()
            .map(|f| {
                json!({
                    "code": f.code,
                    "severity": f.severity,
                    "line": f.location.as_ref().map(|l| l.line),
                    "message": f.message,
                })
            })
            .collect();
        let want: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        if Json::Array(got.clone()) != want {
            failures.push(format!(
                "{name}:\n  want {}\n  got  {}",
                want,
                Json::Array(got.clone())
            ));
        }
        // The folder is named after the finding it triggers.
        if name != "clean" && !got.iter().any(|f| f["code"] == name.as_str()) {
            failures.push(format!("{name}: does not trigger `{name}`"));
        }
        if name == "clean" && !got.is_empty() {
            failures.push(format!("clean: {got:?}"));
        }
        codes.push(name);
    }
    for code in [
        "lowercase-security-value",
        "lowercase-data-value",
        "unmatched-security-field",
        "blank-identity-cell",
        "invalid-access-value",
        "no-scheduler-admin",
        "star-misses-data-values",
        "cross-product",
        "strict-exclusion-denied",
        "reduced-to-nothing-denied",
        "unreachable-data-rows",
        "omit-unknown-field",
        "omit-key-field",
        "duplicate-security-row",
        "ragged-inline-row",
        "admin-reduced",
        "legacy-field-value",
        "no-section-access",
    ] {
        assert!(codes.iter().any(|c| c == code), "no fixture for `{code}`");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
