//! The grouped audit against the one-identity evaluator, on hand-built apps.

use super::*;
use crate::access::Product;
use crate::names::{Email, GroupName, UserId};
use crate::test_support::{ModelBuilder, NULL_CELL, app};

/// Security tables exercising every identity column rule: AND across
/// columns, `*`, blanks, NULLs, NTNAME, e-mail, legacy fields, several
/// tables linked through a shared field.
fn tricky() -> App {
    app(
        ModelBuilder::new()
            .table(
                "SA",
                &["ACCESS", "USERID", "GROUP", "USER.EMAIL", "NTNAME", "KEY"],
                &[
                    &["USER", "ANN", "*", "*", "*", "K1"],
                    &["USER", "*", "SALES", "*", "*", "K2"],
                    &["USER", "BOB", "SALES", "*", "*", "K3"],
                    &["ADMIN", "*", "*", "BOSS@X.ORG", "*", "K4"],
                    &["USER", "", "*", "*", "*", "K1"],
                    &["USER", NULL_CELL, "*", "*", "*", "K2"],
                    &["USER", "*", "*", "*", "OPS", "K3"],
                    &["ADMIN", "INTERNAL\\SA_SCHEDULER", "*", "*", "*", ""],
                ],
            )
            .table(
                "MAP",
                &["KEY", "COUNTRY"],
                &[
                    &["K1", "US"],
                    &["K2", "FR"],
                    &["K3", "DE"],
                    &["K3", "US"],
                    &["K4", "US"],
                ],
            ),
        ModelBuilder::new().table(
            "Sales",
            &["COUNTRY", "AMOUNT"],
            &[&["US", "1"], &["FR", "2"], &["DE", "3"], &["ES", "4"]],
        ),
    )
}

fn probe_identities() -> Vec<Identity> {
    let g = |n: &str| GroupName::new(n);
    vec![
        Identity::user("ann"),
        Identity::user("bob"),
        Identity::new(Some(UserId::new("bob")), None, vec![g("sales")]),
        Identity::new(Some(UserId::new("carl")), None, vec![g("sales"), g("ops")]),
        Identity::new(None, Some(Email::new("boss@x.org")), Vec::new()),
        Identity::user("ops"),
        Identity::user("nobody"),
        Identity::new(None, None, vec![g("ops")]),
        Identity::user("INTERNAL\\SA_SCHEDULER"),
    ]
}

#[test]
fn grouped_audit_agrees_with_evaluate_for_every_identity() {
    let app = tricky();
    for product in [Product::Sense, Product::QlikView] {
        let opts = Options {
            product,
            ..Options::default()
        };
        let ev = Evaluator::new(&app, opts);
        let audit = Audit::run(&app, &opts, &probe_identities(), &mut |_, _| {});
        assert!(audit.entries.len() >= probe_identities().len());
        for e in &audit.entries {
            let d = ev.evaluate(&e.identity);
            let g = audit.grant_of(e).unwrap_or_else(|| unreachable!());
            assert_eq!(g.outcome, d.outcome, "{:?} {product:?}", e.identity);
            if d.outcome.is_granted() {
                assert_eq!(g.access, d.access, "{:?}", e.identity);
                let want: Vec<(String, Vec<String>)> = d
                    .reduction_text(&app.data)
                    .into_iter()
                    .map(|(n, v)| (n.to_string(), v))
                    .collect();
                assert_eq!(g.reduction, want, "{:?}", e.identity);
                let omitted = d.omitted_ids();
                let rows: Vec<usize> = d
                    .tables(&app.data, &omitted)
                    .into_iter()
                    .flatten()
                    .map(|t| t.count())
                    .collect();
                let got: Vec<usize> = g.tables.iter().map(|(_, t)| t.rows).collect();
                assert_eq!(got, rows, "{:?}", e.identity);
            }
        }
    }
}

#[test]
fn identical_grants_are_decided_once() {
    let app = tricky();
    let many: Vec<Identity> = (0..50)
        .map(|i| {
            Identity::new(
                Some(UserId::new(&format!("u{i}"))),
                None,
                vec![GroupName::new("sales")],
            )
        })
        .collect();
    let audit = Audit::run(&app, &Options::default(), &many, &mut |_, _| {});
    assert!(audit.entries.len() > 50);
    // Every `u{i}` in SALES matches the same rows: one key for all of them.
    assert!(audit.decided < 15, "{}", audit.decided);
    assert!(audit.reductions <= audit.decided);
}

#[test]
fn enumeration_names_users_emails_and_groups_but_not_wildcards_or_blanks() {
    let app = tricky();
    let ids = identities(&app, &Options::default());
    let labels: Vec<String> = ids.iter().map(label).collect();
    assert_eq!(
        labels,
        [
            "ANN",
            "BOB",
            "INTERNAL\\SA_SCHEDULER",
            "OPS",
            "BOSS@X.ORG",
            "group:SALES"
        ]
    );
}

#[test]
fn identities_file_reads_userid_email_and_groups() {
    let dir = std::env::temp_dir().join(format!("sa-ids-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|_| unreachable!());
    let path = dir.join("ids.csv");
    std::fs::write(
        &path,
        "UserId,email,groups\nann,,sales; ops\n,boss@x.org,\n,,\n",
    )
    .unwrap_or_else(|_| unreachable!());
    let ids = read_identities(&path).unwrap_or_default();
    assert_eq!(ids.len(), 2);
    assert_eq!(label(&ids[0]), "ANN group:OPS;SALES");
    assert_eq!(label(&ids[1]), "BOSS@X.ORG");
    std::fs::write(&path, "name\nx\n").unwrap_or_else(|_| unreachable!());
    assert!(matches!(
        read_identities(&path),
        Err(IdentitiesError::Header { .. })
    ));
}
