//! `audit`, `test` and `diff` against the built binary: stdout, files and
//! exit codes.
//!
//! - `fixtures/expectations/<suite>/`: `script.qvs`, `cases.toml`, `exit`
//!   (the expected exit code) and, for suites that run, `stdout.txt` and
//!   `junit.xml` snapshots.
//! - `fixtures/diff/<pair>/`: `old.qvs`, `new.qvs` and `expected.json`, the
//!   exact `diff --format json` output.

use std::path::Path;
use std::process::Output;

use serde_json::Value as Json;

use crate::common::{fixture_folders, root, section_access, stdout};

fn run_in(dir: &Path, args: &[&str]) -> Output {
    section_access()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

const TUTORIAL: &str = "fixtures/access/qlik-core-tutorial/script.qvs";

#[test]
fn audit_json_follows_the_contract() {
    let o = run_in(root(), &["audit", TUTORIAL, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: Json = serde_json::from_str(&stdout(&o)).unwrap();
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["identities", "findings"]);
    let ids = j["identities"].as_array().unwrap();
    assert!(ids.len() >= 3);
    for id in ids {
        let keys: Vec<&String> = id.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "identity",
                "decision",
                "reason",
                "access",
                "reduction",
                "omitted",
                "tables"
            ]
        );
        let who: Vec<&String> = id["identity"].as_object().unwrap().keys().collect();
        assert_eq!(who, ["userid", "email", "groups"]);
    }
    let us = ids
        .iter()
        .find(|i| i["identity"]["userid"] == "US-USER")
        .unwrap();
    assert_eq!(us["decision"], "granted");
    assert_eq!(us["reduction"]["COUNTRY"], serde_json::json!(["US"]));
    let t = us["tables"].as_object().unwrap().values().next().unwrap();
    assert!(t["rows"].as_u64().unwrap() < t["total"].as_u64().unwrap());
    for f in j["findings"].as_array().unwrap() {
        let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "severity", "message", "location", "help"]);
    }
    // Deterministic: the same bytes twice.
    let again = run_in(root(), &["audit", TUTORIAL, "--format", "json"]);
    assert_eq!(o.stdout, again.stdout);
}

#[test]
fn audit_csv_has_one_row_per_identity() {
    let json = run_in(root(), &["audit", TUTORIAL, "--format", "json"]);
    let n = serde_json::from_str::<Json>(&stdout(&json)).unwrap()["identities"]
        .as_array()
        .unwrap()
        .len();
    let o = run_in(root(), &["audit", TUTORIAL, "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("userid,email,groups,decision,reason,access,reduction,omitted,rows:")
    );
    assert_eq!(lines.count(), n);
    assert!(text.contains("US-USER,,,granted,,USER,COUNTRY=US,"));
}

#[test]
fn audit_html_is_self_contained() {
    let o = run_in(root(), &["audit", TUTORIAL, "--format", "html"]);
    assert_eq!(o.status.code(), Some(0));
    let html = stdout(&o);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in [
        "http:", "https:", "src=", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(external), "external reference `{external}`");
    }
    for part in [
        "Summary",
        "Findings",
        "Access matrix",
        "Rows per table",
        "US-USER",
    ] {
        assert!(html.contains(part), "missing `{part}`");
    }
}

#[test]
fn audit_fails_on_findings_at_the_given_severity() {
    let script = "fixtures/findings/blank-identity-cell/script.qvs";
    let o = run_in(root(), &["audit", script]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("blank-identity-cell"));
    let o = run_in(root(), &["audit", script, "--fail-on", "error"]);
    assert_eq!(o.status.code(), Some(4));
    let clean = "fixtures/findings/clean/script.qvs";
    let o = run_in(root(), &["audit", clean, "--fail-on", "info"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn audit_adds_identities_from_a_directory_export() {
    let dir = std::env::temp_dir().join(format!("sa-cli-ids-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ids = dir.join("ids.csv");
    std::fs::write(&ids, "userid,email,groups\nstranger,,\n").unwrap();
    let o = run_in(
        root(),
        &[
            "audit",
            TUTORIAL,
            "--identities",
            ids.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let j: Json = serde_json::from_str(&stdout(&o)).unwrap();
    let stranger = j["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identity"]["userid"] == "STRANGER")
        .unwrap();
    assert_eq!(stranger["decision"], "denied");
    assert_eq!(stranger["reason"], "no-matching-row");
    let o = run_in(root(), &["audit", TUTORIAL, "--identities", "missing.csv"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn expectation_suites_give_their_exit_code_output_and_junit() {
    let dirs = fixture_folders("expectations");
    assert!(dirs.len() >= 3);
    let tmp = std::env::temp_dir().join(format!("sa-junit-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let junit = tmp.join(format!("{name}.xml"));
        let o = run_in(
            &dir,
            &[
                "test",
                "script.qvs",
                "cases.toml",
                "--junit",
                junit.to_str().unwrap(),
            ],
        );
        let want: i32 = std::fs::read_to_string(dir.join("exit"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(want),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if want == 1 {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("line 4, column 1"), "{name}: {err}");
            assert!(err.contains("rowz"), "{name}: {err}");
            continue;
        }
        let out = std::fs::read_to_string(dir.join("stdout.txt")).unwrap();
        assert_eq!(stdout(&o), out, "{name}: stdout");
        let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&junit).unwrap(),
            xml,
            "{name}: junit"
        );
    }
}

#[test]
fn diff_pairs_give_their_json() {
    let dirs = fixture_folders("diff");
    assert!(dirs.len() >= 4);
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let o = run_in(&dir, &["diff", "old.qvs", "new.qvs", "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{name}");
        let got: Json = serde_json::from_str(&stdout(&o)).unwrap();
        let want: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        assert_eq!(got, want, "{name}");
        let gained = want["summary"]["gained"].as_u64().unwrap() > 0;
        let gate = run_in(&dir, &["diff", "old.qvs", "new.qvs", "--fail-on-gain"]);
        assert_eq!(
            gate.status.code(),
            Some(if gained { 4 } else { 0 }),
            "{name}"
        );
    }
}

#[test]
fn diff_gain_and_loss_are_classified() {
    let dir = root().join("fixtures/diff");
    let load = |n: &str| -> Json {
        serde_json::from_str(&std::fs::read_to_string(dir.join(n).join("expected.json")).unwrap())
            .unwrap()
    };
    assert_eq!(load("unchanged")["summary"]["changed"], 0);
    let loss = load("loss");
    assert_eq!(loss["summary"]["gained"], 0);
    assert!(loss["summary"]["lost"].as_u64().unwrap() >= 2);
    let moved = load("move");
    let us = &moved["identities"][0];
    assert_eq!(
        (us["gained"].as_bool(), us["lost"].as_bool()),
        (Some(true), Some(true))
    );
    let gain = load("gain");
    let who: Vec<&str> = gain["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["gained"] == true)
        .map(|i| i["identity"]["userid"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["DE-USER", "FR-USER", "US-USER"]);
}
