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

use crate::common::fixture_folders;

#[test]
fn every_fixture_gives_exactly_its_findings() {
    let dirs = fixture_folders("findings");
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

/// Rewrites snapshot files instead of comparing them when set
/// (`UPDATE_SNAPSHOTS=1 cargo test --test it findings_fixtures`).
fn updating() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some()
}

/// Compares `got` with the file at `path`, or writes it when updating.
fn snapshot(path: &Path, got: &str) -> Option<String> {
    if updating() {
        std::fs::write(path, got).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    (want != got).then(|| {
        format!(
            "{} differs from the output (UPDATE_SNAPSHOTS=1 rewrites it):\n{got}",
            path.display()
        )
    })
}

/// The findings of every fixture: folder name, folder and findings.
fn fixture_findings() -> Vec<(
    String,
    std::path::PathBuf,
    Vec<section_access::audit::Finding>,
)> {
    fixture_folders("findings")
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let app = run_file(&dir.join("script.qvs"), &LoadOptions::default()).unwrap();
            let found = findings(&app, &Options::default());
            (name, dir, found)
        })
        .collect()
}

/// Each fixture's findings as SARIF equal its `expected.sarif`, and read
/// back through the `serde-sarif` types they hold what code scanning
/// needs: a rule per code, results pointing at their rule, levels, and
/// the script's line and column.
#[test]
fn each_fixture_as_sarif_matches_its_snapshot_and_reads_back() {
    use section_access::audit::sarif::{SarifOptions, sarif_log};
    use serde_sarif::sarif::{ResultLevel, Sarif};
    let mut failures = Vec::new();
    for (name, dir, found) in fixture_findings() {
        let opts = SarifOptions {
            script_dir: format!("fixtures/findings/{name}"),
            docs_url: Some("https://example.org/docs/findings.md".into()),
        };
        let log = sarif_log(&found, &opts);
        let text = serde_json::to_string_pretty(&log).unwrap() + "\n";
        failures.extend(snapshot(&dir.join("expected.sarif"), &text));
        let back: Sarif = serde_json::from_str(&text).unwrap();
        assert_eq!(back.version, "2.1.0");
        let run = &back.runs[0];
        let rules = run.tool.driver.rules.as_ref().unwrap();
        let results = run.results.as_ref().unwrap();
        assert_eq!(results.len(), found.len(), "{name}");
        for (r, f) in results.iter().zip(&found) {
            let id = r.rule_id.as_deref().unwrap();
            assert_eq!(id, f.code.as_str());
            let rule = &rules[usize::try_from(r.rule_index.unwrap()).unwrap()];
            assert_eq!(rule.id, id);
            assert_eq!(
                rule.help_uri.as_deref(),
                Some(format!("https://example.org/docs/findings.md#{id}").as_str())
            );
            let level = match f.severity {
                section_access::audit::Severity::Error => "error",
                section_access::audit::Severity::Warning => "warning",
                section_access::audit::Severity::Info => "note",
            };
            assert_eq!(
                serde_json::to_value(r.level.as_ref().unwrap()).unwrap(),
                level
            );
            assert!(!matches!(r.level, Some(ResultLevel::None)));
            match (&f.location, &r.locations) {
                (Some(l), Some(locs)) => {
                    let p = locs[0].physical_location.as_ref().unwrap();
                    let uri = p.artifact_location.as_ref().unwrap().uri.as_deref();
                    assert_eq!(
                        uri,
                        Some(format!("fixtures/findings/{name}/{}", l.file).as_str())
                    );
                    let region = p.region.as_ref().unwrap();
                    assert_eq!(region.start_line, Some(i64::from(l.line)));
                    assert!(region.start_column.unwrap() >= 1);
                }
                (None, None) => {}
                other => panic!("{name}: location {other:?}"),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `docs/findings.md` is generated from the codes and the fixtures: per
/// code its severity, what it means, what to do, and an example.
#[test]
fn docs_findings_md_is_generated_from_the_codes() {
    use section_access::audit::FindingCode;
    let fixtures = fixture_findings();
    let mut doc = String::from(
        "# Findings\n\n\
         Generated from `FindingCode::summary` and `fixtures/findings/` by\n\
         `UPDATE_SNAPSHOTS=1 cargo test --test it findings_fixtures`; do not edit by hand.\n\
         `check` and `audit` print these (text, JSON, or SARIF with `--format sarif`,\n\
         whose rules link here with `--docs-url`). Each code has a fixture folder\n\
         `fixtures/findings/<code>/` that triggers it.\n",
    );
    for code in FindingCode::AUDIT {
        let example = fixtures
            .iter()
            .flat_map(|(_, _, found)| found)
            .find(|f| f.code == code)
            .unwrap_or_else(|| panic!("no fixture triggers `{code}`"));
        doc.push_str(&format!(
            "\n## {code}\n\n**{}.** {}\n\nWhat to do: {}\n\nExample (`fixtures/findings/{code}/`): {}\n",
            example.severity,
            code.summary(),
            example.help,
            example.message
        ));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md");
    if let Some(diff) = snapshot(&path, &doc) {
        panic!("{diff}");
    }
}
