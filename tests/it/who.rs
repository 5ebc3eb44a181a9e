//! `who`: answered from the audit's grants, it lists an identity for a row
//! (or for rows with a value) exactly when that identity, evaluated on its
//! own, keeps such a row — on every access scenario, every row of every
//! table and every value of every reduction field; and the CLI's text,
//! JSON and errors.

use section_access::access::{Evaluator, Options};
use section_access::audit::Audit;
use section_access::audit::who::{Target, who};
use section_access::load::{LoadOptions, run_file};
use section_access::names::Identity;

use crate::common::{fixture_folders, run, stdout, text};

#[test]
fn who_lists_exactly_the_identities_that_keep_the_row_or_value() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in fixture_folders("access") {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let app = run_file(&dir.join("script.qvs"), &LoadOptions::default()).unwrap();
        let opts = Options::default();
        let audit = Audit::run(&app, &opts, &[], &|_, _| {});
        let ev = Evaluator::new(&app, opts);
        let decisions: Vec<(Identity, _)> = audit
            .entries
            .iter()
            .map(|e| (e.identity.clone(), ev.evaluate(&e.identity)))
            .collect();
        let data = &app.data;
        // Every row of every table.
        for (t, table) in data.tables().iter().enumerate() {
            for r in 0..table.len() {
                let target = Target::Row {
                    table: table.name.to_string(),
                    row: r + 1,
                };
                let answer = who(&app, &opts, &audit, &target, true).unwrap();
                let want: Vec<&Identity> = decisions
                    .iter()
                    .filter(|(_, d)| {
                        d.outcome.is_granted()
                            && d.reduced
                                .as_ref()
                                .and_then(|x| x.rows(t))
                                .is_some_and(|rows| rows.contains(r))
                    })
                    .map(|(i, _)| i)
                    .collect();
                let got: Vec<&Identity> = answer.can.iter().map(|s| &s.identity).collect();
                if got != want {
                    failures.push(format!(
                        "{name} {} row {}: who {got:?}, evaluated {want:?}",
                        table.name,
                        r + 1
                    ));
                }
                let cannot = answer.cannot.as_ref().unwrap();
                assert_eq!(got.len() + cannot.len(), decisions.len(), "{name}");
                checked += 1;
            }
        }
        // Every value of every reduction field, in the first table holding it.
        for (_, field, fname) in ev.reduction_fields() {
            let Some(t) = data.tables().iter().position(|tb| tb.has_field(field)) else {
                continue;
            };
            let table = &data.tables()[t];
            for (sym, value) in data.symbols(field).unwrap().texts() {
                let target = Target::Values(vec![(fname.to_string(), value.to_string())]);
                let answer = who(&app, &opts, &audit, &target, false).unwrap();
                let col = table.column(field).unwrap();
                let want: Vec<&Identity> = decisions
                    .iter()
                    .filter(|(_, d)| {
                        d.outcome.is_granted()
                            && !d.omitted.iter().any(|(f, _)| *f == field)
                            && d.reduced
                                .as_ref()
                                .and_then(|x| x.rows(t))
                                .is_some_and(|rows| {
                                    (0..table.len()).any(|r| rows.contains(r) && col[r] == sym)
                                })
                    })
                    .map(|(i, _)| i)
                    .collect();
                let got: Vec<&Identity> = answer.can.iter().map(|s| &s.identity).collect();
                if got != want {
                    failures.push(format!(
                        "{name} {fname}={value}: who {got:?}, evaluated {want:?}"
                    ));
                }
                assert!(answer.cannot.is_none());
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 300, "only {checked} questions checked");
}

/// With one reduction field, an identity is listed for a value of it
/// exactly when its audit row shows the value: in its reduction, or the
/// field is not applied to it and it is granted.
#[test]
fn who_lists_an_identity_for_a_value_exactly_when_its_audit_row_shows_it() {
    let mut checked = 0;
    for dir in fixture_folders("access") {
        let app = run_file(&dir.join("script.qvs"), &LoadOptions::default()).unwrap();
        let opts = Options::default();
        let ev = Evaluator::new(&app, opts);
        let fields = ev.reduction_fields();
        let [(_, field, fname)] = fields.as_slice() else {
            continue;
        };
        let (field, fname) = (*field, fname.to_string());
        if !app.data.tables().iter().any(|t| t.has_field(field)) {
            continue;
        }
        let audit = Audit::run(&app, &opts, &[], &|_, _| {});
        for (_, value) in app.data.symbols(field).unwrap().texts() {
            let target = Target::Values(vec![(fname.clone(), value.to_string())]);
            let answer = who(&app, &opts, &audit, &target, false).unwrap();
            let got: Vec<&Identity> = answer.can.iter().map(|s| &s.identity).collect();
            let want: Vec<&Identity> = audit
                .entries
                .iter()
                .filter(|e| {
                    let g = audit.grant_of(e).unwrap();
                    let shown = match g.view.reduction.iter().find(|(f, _)| *f == fname) {
                        Some((_, values)) => values.iter().any(|v| v == value.as_ref()),
                        None => true,
                    };
                    g.is_granted() && shown && !g.view.omitted.contains(&fname)
                })
                .map(|e| &e.identity)
                .collect();
            assert_eq!(got, want, "{} {fname}={value}", dir.display());
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} values checked");
}

#[test]
fn who_on_the_example_names_the_granting_lines_and_the_reasons() {
    let o = run(&[
        "who",
        "fixtures/example/app.qvs",
        "REGION=NORTH",
        "--denied",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = stdout(&o);
    assert!(out.starts_with("rows of "), "{out}");
    let anna = out
        .lines()
        .find(|l| l.trim_start().starts_with("ANNA"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(anna.contains("app.qvs:"), "{out}");
    let bob = out
        .lines()
        .find(|l| l.trim_start().starts_with("BOB"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(bob.contains("reduced-away"), "{out}");
    assert!(out.contains("denied:reduced-to-nothing"), "{out}");
    let o = run(&[
        "who",
        "fixtures/example/app.qvs",
        "--table",
        "Orders",
        "--row",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["table"], "Orders");
    assert_eq!(json["rows"], serde_json::json!([1]));
    assert!(json["cannot"].is_null());
    assert!(!json["can"].as_array().unwrap().is_empty());
    assert!(json["can"][0]["granted_by"][0]["line"].as_u64().unwrap() > 0);
}

/// OMIT (SPEC §6): an identity whose visible row holds the value, but to
/// whom the field is hidden, does not see the value.
#[test]
fn an_omitted_field_hides_its_values() {
    // Order 1007 (EAST) is in BOB's reduction; BOB and FINANCE omit MARGIN.
    let o = run(&[
        "who",
        "fixtures/example/app.qvs",
        "MARGIN=20.25",
        "--denied",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = stdout(&o);
    let reason = |who: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(who))
            .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
    };
    assert_eq!(reason("BOB").as_deref(), Some("field-omitted"), "{out}");
    assert_eq!(
        reason("group:FINANCE").as_deref(),
        Some("field-omitted"),
        "{out}"
    );
    assert_eq!(reason("ANNA").as_deref(), Some("reduced-away"), "{out}");
    // The row itself stays visible to BOB.
    let o = run(&[
        "who",
        "fixtures/example/app.qvs",
        "--table",
        "Orders",
        "--row",
        "7",
    ]);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.trim_start().starts_with("BOB")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn who_says_what_is_wrong_with_the_question() {
    let o = run(&["who", "fixtures/example/app.qvs", "region=NORTH"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("did you mean `REGION`"),
        "{}",
        text(&o.stderr)
    );
    let o = run(&[
        "who",
        "fixtures/example/app.qvs",
        "--table",
        "Orders",
        "--row",
        "999",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("there is no row 999"),
        "{}",
        text(&o.stderr)
    );
    let o = run(&["who", "fixtures/example/app.qvs"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["who", "fixtures/example/app.qvs", "NOEQUALS"]);
    assert_eq!(o.status.code(), Some(2));
}
