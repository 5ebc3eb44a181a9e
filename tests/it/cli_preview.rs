//! `section-access preview` against the built binary: stdout and exit codes.

use std::path::PathBuf;

use crate::common::{run, stdout, tutorial};

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

/// A token minted by the binary itself, at a fixed clock.
fn mint(args: &[&str]) -> String {
    let mut all = vec!["token", "mint", "--now", "2024-01-01T00:00:00Z"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o).trim().to_string()
}

fn preview_token(token: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let script = tutorial();
    let mut args = vec![
        "preview",
        script.to_str().unwrap(),
        "--token",
        token,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let json = serde_json::from_str(&stdout(&o)).unwrap_or(serde_json::Value::Null);
    (o.status.code(), json)
}

#[test]
fn qlik_core_tutorial_token_end_to_end() {
    // HS256 with the tutorial's secret `passw0rd`: `sub` us-user → the 3 US rows.
    let token = mint(&["--secret", "passw0rd", "--sub", "us-user"]);
    let (code, json) = preview_token(
        &token,
        &["--secret", "passw0rd", "--now", "2024-01-01T00:04:59Z"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(json["identity"]["userid"], "US-USER");
    assert_eq!(json["decision"], "granted");
    assert_eq!(json["reduction"]["COUNTRY"], serde_json::json!(["US"]));
    assert_eq!(json["tables"]["Sales"]["rows"], 3);
}

#[test]
fn invalid_tokens_are_unauthorized_before_any_evaluation() {
    let token = mint(&["--secret", "passw0rd", "--sub", "us-user", "--groups", "g1"]);
    let public = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/jwt/rsa-public.pem");
    let cases: [(&[&str], &str); 3] = [
        // exp = now + 300: at exp the token is expired.
        (
            &["--secret", "passw0rd", "--now", "2024-01-01T00:05:00Z"],
            "expired",
        ),
        (
            &["--secret", "password", "--now", "2024-01-01T00:01:00Z"],
            "bad-signature",
        ),
        // An HMAC token checked against a public key: key confusion refused.
        (
            &[
                "--key",
                public.to_str().unwrap(),
                "--now",
                "2024-01-01T00:01:00Z",
            ],
            "alg-confusion",
        ),
    ];
    for (extra, reason) in cases {
        let (code, json) = preview_token(&token, extra);
        assert_eq!(code, Some(3), "{reason}: {json}");
        assert_eq!(json["decision"], "unauthorized", "{reason}");
        assert_eq!(json["reason"], reason, "{json}");
        assert_eq!(json["identity"], serde_json::Value::Null);
        assert_eq!(json["matched_rows"], serde_json::json!([]));
    }
}

#[test]
fn unsigned_tokens_only_in_engine_mode_1() {
    // alg none, empty signature: {"alg":"none"} . {"sub":"us-user"} .
    let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1cy11c2VyIn0.";
    let (code, json) = preview_token(token, &["--now", "2024-01-01T00:00:00Z"]);
    assert_eq!(code, Some(3));
    assert_eq!(json["reason"], "alg-none-rejected");
    let (code, json) = preview_token(
        token,
        &["--validate-jwt", "1", "--now", "2024-01-01T00:00:00Z"],
    );
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["tables"]["Sales"]["rows"], 3);
}

#[test]
fn a_token_excludes_a_typed_identity() {
    let script = tutorial();
    let o = run(&[
        "preview",
        script.to_str().unwrap(),
        "--token",
        "x.y.z",
        "--user",
        "a",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["preview", script.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
