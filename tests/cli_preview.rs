//! `section-access preview` against the built binary: stdout and exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn tutorial() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/access/qlik-core-tutorial/script.qvs")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_section-access"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn json_follows_the_contract_field_for_field() {
    let script = tutorial();
    let o = run(&[
        "preview",
        script.to_str().unwrap(),
        "--user",
        "us-user",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let got: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let want = serde_json::json!({
        "identity": {"userid": "US-USER", "email": null, "groups": []},
        "decision": "granted",
        "reason": null,
        "access": "USER",
        "matched_rows": [{"table": "SA", "row": 2, "line": 6}],
        "reduction": {"COUNTRY": ["US"]},
        "omitted": [],
        "tables": {"Sales": {"rows": 3, "total": 9, "fields": ["COUNTRY", "PRODUCT", "SALES_AMOUNT"]}},
        "notes": []
    });
    assert_eq!(got, want);
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "identity",
            "decision",
            "reason",
            "access",
            "matched_rows",
            "reduction",
            "omitted",
            "tables",
            "notes"
        ]
    );
}

#[test]
fn a_denied_identity_exits_3_with_its_reason() {
    let script = tutorial();
    let o = run(&[
        "preview",
        script.to_str().unwrap(),
        "--user",
        "fr-user",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let got: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(got["decision"], "denied");
    assert_eq!(got["reason"], "no-matching-row");
    assert_eq!(got["tables"], serde_json::json!({}));
    let o = run(&["preview", script.to_str().unwrap(), "--user", "fr-user"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stdout(&o).contains("decision   denied: no-matching-row"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_text_report_shows_decision_rows_and_a_grid() {
    let script = tutorial();
    let o = run(&[
        "preview",
        script.to_str().unwrap(),
        "--user",
        "uk-user",
        "--rows",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for want in [
        "identity   UK-USER",
        "decision   granted, USER",
        "matched    SA row 3 at script.qvs:7",
        "reduction  COUNTRY = UK",
        "Sales  9 → 3 rows",
        "    COUNTRY  PRODUCT      SALES_AMOUNT",
        "    UK       Electronics  201",
        "    … 1 more",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn out_writes_reduced_tables_without_omitted_fields() {
    let dir = std::env::temp_dir().join(format!("sa-preview-out-{}", std::process::id()));
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/access/omit-star/script.qvs");
    let o = run(&[
        "preview",
        script.to_str().unwrap(),
        "--user",
        "one",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("Sales.csv")).unwrap();
    assert_eq!(csv, "COUNTRY,SALES_AMOUNT\nUS,101\nUS,102\nUS,103\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_script_that_cannot_run_exits_1_with_a_diagnostic() {
    let o = run(&["preview", "/nonexistent/script.qvs", "--user", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(!o.stderr.is_empty());
}

#[test]
fn a_missing_user_is_a_usage_error() {
    let script = tutorial();
    let o = run(&["preview", script.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
