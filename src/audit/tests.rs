//! The grouped audit against the one-identity evaluator, on hand-built apps.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::decide::{Interner, PAIRS_BELOW};
use super::identities::{compare, prefix};
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

/// Every entry of the grouped audit of `app` (the security tables'
/// identities plus `extra`) gets what [`Evaluator::evaluate`] gives that
/// identity alone; and the streamed JSON is serde's.
fn audit_agrees_with_evaluate(app: &App, extra: &[Identity]) -> Result<(), String> {
    for product in [Product::Sense, Product::QlikView] {
        let opts = Options {
            product,
            ..Options::default()
        };
        let ev = Evaluator::new(app, opts);
        let audit = Audit::run(app, &opts, extra, &|_, _| {});
        if audit.entries.len() < extra.len() {
            return Err(String::from("identities lost"));
        }
        for e in &audit.entries {
            let d = ev.evaluate(&e.identity);
            let g = audit.grant_of(e).ok_or("no grant")?;
            let who = format!("{:?} {product:?}", e.identity);
            if g.outcome != d.outcome {
                return Err(format!("{who}: {:?} vs {:?}", g.outcome, d.outcome));
            }
            if !d.outcome.is_granted() {
                continue;
            }
            if g.access != d.access {
                return Err(format!("{who}: access {:?} vs {:?}", g.access, d.access));
            }
            let want = d.reduction_text(&app.data);
            if g.view.reduction != want {
                return Err(format!(
                    "{who}: reduction {:?} vs {want:?}",
                    g.view.reduction
                ));
            }
            let omitted = d.omitted_ids();
            let rows: Vec<usize> = d
                .tables(&app.data, &omitted)
                .into_iter()
                .flatten()
                .map(|t| t.count())
                .collect();
            let got: Vec<usize> = g.view.tables.iter().map(|t| t.rows).collect();
            if got != rows {
                return Err(format!("{who}: rows {got:?} vs {rows:?}"));
            }
            let hidden: Vec<String> = d.omitted.iter().map(|(_, n)| n.to_string()).collect();
            if g.view.omitted != hidden {
                return Err(format!("{who}: omitted {:?} vs {hidden:?}", g.view.omitted));
            }
        }
        let mut streamed = Vec::new();
        audit.write_json(&mut streamed).map_err(|e| e.to_string())?;
        let serde = serde_json::to_string_pretty(&audit.report()).map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&streamed) != serde {
            return Err(format!(
                "streamed json differs:\n{}\nvs\n{serde}",
                String::from_utf8_lossy(&streamed)
            ));
        }
    }
    Ok(())
}

#[test]
fn grouped_audit_agrees_with_evaluate_for_every_identity() {
    assert_eq!(
        audit_agrees_with_evaluate(&tricky(), &probe_identities()),
        Ok(())
    );
}

/// Cells of the random security tables: wildcards, blanks, NULLs, numbers,
/// lower case, blanks around a value and a service account included.
const CELLS: [&str; 11] = [
    "*",
    "",
    NULL_CELL,
    "A",
    "B",
    "a",
    "1",
    "01",
    "C",
    " B ",
    "INTERNAL\\SA_SCHEDULER",
];

fn security_table(
    rows: &[(u8, u8, u8, u8, u8)],
    ntname: bool,
) -> (Vec<&'static str>, Vec<Vec<&'static str>>) {
    let pick = |i: u8| {
        CELLS
            .get(usize::from(i) % CELLS.len())
            .copied()
            .unwrap_or("*")
    };
    let access = ["USER", "ADMIN", "user", "", "USER"];
    let countries = ["US", "FR", "*", "", "XX", "us", "1"];
    let mut header = vec!["ACCESS", "USERID", "GROUP", "COUNTRY"];
    if ntname {
        header.push("NTNAME");
    }
    let body = rows
        .iter()
        .map(|&(a, u, g, c, n)| {
            let mut row = vec![
                access
                    .get(usize::from(a) % access.len())
                    .copied()
                    .unwrap_or("USER"),
                pick(u),
                pick(g),
                countries
                    .get(usize::from(c) % countries.len())
                    .copied()
                    .unwrap_or("US"),
            ];
            if ntname {
                row.push(pick(n));
            }
            row
        })
        .collect();
    (header, body)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// The index, the grouping by key and by selection, the per-value
    /// counts and the shared views against evaluating each identity alone.
    #[test]
    fn random_security_tables_audit_like_evaluate(
        rows in proptest::collection::vec((0u8..5, 0u8..11, 0u8..11, 0u8..7, 0u8..11), 0..12),
        ntname in proptest::bool::ANY,
        linked in proptest::bool::ANY,
        omit in proptest::bool::ANY,
    ) {
        let (header, body) = security_table(&rows, ntname);
        let body: Vec<&[&str]> = body.iter().map(Vec::as_slice).collect();
        let mut sec = ModelBuilder::new().table("SA", &header, &body);
        if linked {
            // A second security table linked through COUNTRY.
            sec = sec.table("MAP", &["COUNTRY", "REGION"], &[&["US", "NORTH"], &["FR", "SOUTH"], &["1", "EAST"]]);
        }
        if omit {
            sec = sec.table("HIDE", &["USERID", "OMIT"], &[&["A", "AMOUNT"], &["*", "REGION"], &["B", "NOPE"]]);
        }
        let data = ModelBuilder::new()
            .table("Sales", &["COUNTRY", "AMOUNT", "CUSTOMER"], &[&["US", "1", "c1"], &["FR", "2", "c2"], &["DE", "3", "c1"], &["1", "4", "c3"]])
            .table("Customers", &["CUSTOMER", "REGION"], &[&["c1", "NORTH"], &["c2", "SOUTH"], &["c3", "EAST"]]);
        let app = app(sec, data);
        let g = |n: &str| GroupName::new(n);
        let extra = vec![
            Identity::new(Some(UserId::new("a")), None, vec![g("b")]),
            Identity::new(None, None, vec![g("a"), g("c")]),
            Identity::new(Some(UserId::new("01")), None, Vec::new()),
            Identity::new(None, Some(Email::new("x@y")), Vec::new()),
            Identity::default(),
        ];
        proptest::prop_assert_eq!(audit_agrees_with_evaluate(&app, &extra), Ok(()));
        proptest::prop_assert_eq!(summary_is_the_audit(&app), Ok(()));
    }
}

/// [`Audit::run_summary`] (identities kept as symbols, the first few per
/// grant kept as they come) gives what [`Audit::run`] gives without extra
/// identities: the same grants in the same order, the same findings.
fn summary_is_the_audit(app: &App) -> Result<(), String> {
    for product in [Product::Sense, Product::QlikView] {
        let opts = Options {
            product,
            ..Options::default()
        };
        let full = Audit::run(app, &opts, &[], &|_, _| {});
        let summary = Audit::run_summary(app, &opts);
        // Grouped and decided in pieces however few the identities.
        let halves = Audit::summary(app, &opts, 2, 1);
        let grant = |g: &Verdict| {
            let rows: Vec<usize> = g.view.tables.iter().map(|t| t.rows).collect();
            format!(
                "{} {:?} {:?} {:?} {rows:?} {:?}",
                g.decision(),
                g.access,
                g.view.reduction,
                g.view.omitted,
                g.cross
            )
        };
        let grants = |a: &Audit| a.grants.iter().map(grant).collect::<Vec<_>>();
        let findings = |a: &Audit| serde_json::to_string_pretty(&a.findings).unwrap_or_default();
        if (grants(&halves), findings(&halves)) != (grants(&summary), findings(&summary)) {
            return Err(format!("{product:?}: pieces differ from one pass"));
        }
        if grants(&summary) != grants(&full) {
            return Err(format!(
                "{product:?} grants:\n{:#?}\nvs\n{:#?}",
                grants(&summary),
                grants(&full)
            ));
        }
        if findings(&summary) != findings(&full) {
            return Err(format!(
                "{product:?} findings:\n{}\nvs\n{}",
                findings(&summary),
                findings(&full)
            ));
        }
        let counts = |a: &Audit| (a.decided, a.reductions, a.fields.clone());
        if counts(&summary) != counts(&full) {
            return Err(format!("{product:?} counts differ"));
        }
    }
    Ok(())
}

/// Users named twice (`USERID` and `NTNAME`, blanks around a value, lower
/// case from a file) and more users denied than a finding names, listed
/// out of order: each counted once, the first ones by name.
#[test]
fn summary_names_each_identity_once_and_the_first_ones_in_order() {
    let mut table: Vec<Vec<String>> = Vec::new();
    for u in (0..25).rev() {
        table.push(
            ["USER", &format!("U{u:02}"), "*", "XX"]
                .map(String::from)
                .to_vec(),
        );
    }
    for (user, nt) in [("ANN", "ANN"), (" BOB", "BOB"), ("cy", "CY"), ("*", "DAN")] {
        table.push(["USER", user, nt, "XX"].map(String::from).to_vec());
    }
    let body = rows(&table);
    let sec = ModelBuilder::new().table(
        "SA",
        &["ACCESS", "USERID", "NTNAME", "COUNTRY"],
        &slices(&body),
    );
    let data = ModelBuilder::new().table("Sales", &["COUNTRY"], &[&["US"]]);
    let app = app(sec, data);
    assert_eq!(summary_is_the_audit(&app), Ok(()));
    let opts = Options::default();
    let summary = Audit::run_summary(&app, &opts);
    let text = serde_json::to_string(&summary.findings).unwrap_or_default();
    assert!(
        text.contains("27 identities are denied")
            && text.contains("`ANN`, `DAN`, `U00`, `U01`")
            && !text.contains("U08`"),
        "the first ten by name: {text}"
    );
}

/// Names alike in their first 15 bytes (what identities are first
/// compared on) are ordered on the rest.
#[test]
fn the_first_ones_are_named_by_whole_names() {
    let table: Vec<Vec<String>> = (0..25)
        .rev()
        .map(|u| {
            ["USER", &format!("CORP.DIVISION.USER-{u:02}"), "XX"]
                .map(String::from)
                .to_vec()
        })
        .collect();
    let body = rows(&table);
    let sec = ModelBuilder::new().table("SA", &["ACCESS", "USERID", "COUNTRY"], &slices(&body));
    let data = ModelBuilder::new().table("Sales", &["COUNTRY"], &[&["US"]]);
    let app = app(sec, data);
    assert_eq!(summary_is_the_audit(&app), Ok(()));
    let summary = Audit::run_summary(&app, &Options::default());
    let text = serde_json::to_string(&summary.findings).unwrap_or_default();
    assert!(
        text.contains("25 identities are denied")
            && text.contains("`CORP.DIVISION.USER-00`, `CORP.DIVISION.USER-01`")
            && text.contains("`CORP.DIVISION.USER-09`")
            && !text.contains("USER-10`"),
        "the first ten by name: {text}"
    );
}

/// Users whose rows differ only in `USERID` share a grant, decided on the
/// rows of the first of them (where findings on it point). Findings that
/// name the users of several grants: `fixtures/findings/strict-exclusion-denied`.
#[test]
fn rows_alike_but_for_the_user_share_a_grant() {
    let sec = ModelBuilder::new().table(
        "SA",
        &["ACCESS", "USERID", "COUNTRY"],
        &[
            &["USER", "U3", "XX"],
            &["USER", "U2", "YY"],
            &["USER", "U1", "XX"],
            &["ADMIN", "U4", "US"],
        ],
    );
    let data = ModelBuilder::new().table("Sales", &["COUNTRY"], &[&["US"]]);
    let app = app(sec, data);
    assert_eq!(summary_is_the_audit(&app), Ok(()));
    let audit = Audit::run(&app, &Options::default(), &[], &|_, _| {});
    // U1 and U3 (XX), U2 (YY), U4 (US): three grants for four users.
    assert_eq!(audit.decided, 3);
    let users: Vec<String> = audit.entries.iter().map(|e| label(&e.identity)).collect();
    assert_eq!(users, ["U1", "U2", "U3", "U4"]);
    assert_eq!(audit.entries[2].grant, audit.entries[0].grant);
    let first_row = |e: &Entry| {
        audit
            .grant_of(e)
            .and_then(|g| g.first_row.as_ref())
            .map(|r| r.row)
    };
    // U1's own row (the third), not U3's.
    assert_eq!(first_row(&audit.entries[0]), Some(3));
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
    let audit = Audit::run(&app, &Options::default(), &many, &|_, _| {});
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

/// Borrowed cells of generated rows.
fn rows(t: &[Vec<String>]) -> Vec<Vec<&str>> {
    t.iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect()
}

/// Row slices as [`ModelBuilder::table`] takes them.
fn slices<'r>(t: &'r [Vec<&'r str>]) -> Vec<&'r [&'r str]> {
    t.iter().map(Vec::as_slice).collect()
}

/// An app with many distinct grants: users with their own sets of
/// countries (counted from per-value parts), of countries and products
/// (reduced in full), ADMINs, values missing from the data, and a service
/// account.
fn many_grants() -> App {
    let mut sa: Vec<Vec<String>> = Vec::new();
    for u in 0..400usize {
        // Sorted as numbered: the second half of the grants is U200 on.
        let user = format!("U{u:03}");
        // ADMINs with a blank PRODUCT are reduced by COUNTRY alone.
        let access = if u % 37 == 0 || u % 5 == 1 {
            "ADMIN"
        } else {
            "USER"
        };
        for c in 0..(1 + u % 3) {
            // The second half of the users alone sees C23 to C27: C27
            // with a product restriction (a reduction in full), C26
            // by COUNTRY alone (counted from per-value parts).
            let country = match (u, u % 5) {
                (0..200, _) => format!("C{}", (u * 7 + c * 13) % 23),
                (_, 0) => "C27".to_string(),
                (_, 1) => "C26".to_string(),
                _ => format!("C{}", 23 + (u + c) % 3),
            };
            let product = match u % 5 {
                0 => format!("P{}", (u + c) % 11),
                1 => String::new(),
                _ => "*".to_string(),
            };
            sa.push(vec![access.into(), user.clone(), country, product]);
        }
        if u % 41 == 0 {
            sa.push(vec!["USER".into(), user, "NOWHERE".into(), String::new()]);
        }
    }
    sa.push(vec![
        "ADMIN".into(),
        "INTERNAL\\SA_SCHEDULER".into(),
        "*".into(),
        "*".into(),
    ]);
    let sales: Vec<Vec<String>> = (0..600usize)
        .map(|r| {
            vec![
                format!("C{}", (r * 5) % 29),
                format!("P{}", (r * 3) % 12),
                r.to_string(),
            ]
        })
        .collect();
    let products: Vec<Vec<String>> = (0..12usize)
        .map(|p| vec![format!("P{p}"), format!("K{}", p % 4)])
        .collect();
    let (sa, sales, products) = (rows(&sa), rows(&sales), rows(&products));
    app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY", "PRODUCT"],
            &slices(&sa),
        ),
        ModelBuilder::new()
            .table("Sales", &["COUNTRY", "PRODUCT", "AMOUNT"], &slices(&sales))
            .table("Products", &["PRODUCT", "CATEGORY"], &slices(&products)),
    )
}

#[test]
fn grants_decided_in_pieces_are_those_of_one() {
    let app = many_grants();
    let opts = Options::default();
    let ev = Evaluator::new(&app, opts);
    let run = |piece: usize| {
        let ids = named_identities(ev.security(), app.star.as_deref());
        let audit = Audit::grouped(&app, &opts, &ev, ids, &|_, _| {}, piece);
        let mut json = Vec::new();
        audit.write_json(&mut json).unwrap();
        (
            String::from_utf8(json).unwrap(),
            audit.reductions,
            audit.decided,
        )
    };
    let one = run(usize::MAX);
    // Users whose rows hold the same cells besides USERID share a grant.
    assert!(one.2 > 150, "distinct grants: {}", one.2);
    assert!(one.0.contains("\"decision\": \"denied\""));
    assert!(one.0.contains("\"ADMIN\""));
    assert!(one.0.contains("unreachable-data-rows"));
    for from in [1, 2, 151] {
        assert!(run(from) == one, "split from {from} grants differs");
    }
}

#[test]
fn sequences_are_numbered_by_first_appearance_however_found() {
    // Pairs `[1, x]` below the bound are found by `x`, the rest hashed:
    // both ways number each distinct sequence once, in order.
    let big = PAIRS_BELOW;
    let seqs: Vec<Vec<u32>> = vec![
        vec![1, 7],
        vec![1, big],
        vec![2, 7],
        vec![1, 0],
        vec![1, 7],
        vec![1, big],
        vec![],
        vec![1],
        vec![1, 7, 0],
        vec![1, big - 1],
        vec![1, 0],
        vec![],
    ];
    let mut keys = Interner::default();
    let numbers: Vec<usize> = seqs.iter().map(|s| keys.intern(s)).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 0, 1, 4, 5, 6, 7, 3, 4]);
    let stored: Vec<&[u32]> = keys.iter().collect();
    for (s, &n) in seqs.iter().zip(&numbers) {
        assert_eq!(stored.get(n), Some(&s.as_slice()));
    }
    assert_eq!(keys.len(), 8);
}

/// The audit order is defined once ([`compare`]): the prefixes sort with
/// it, and the order of single-name identities by rank and name is its
/// restriction to them.
#[test]
fn prefixes_and_named_order_agree_with_the_audit_order() {
    let (u, e, g) = (UserId::new, Email::new, GroupName::new);
    let names = [
        "",
        "A",
        "AB",
        "B",
        "ABCDEFGHIJKLMNOPQR",
        "ABCDEFGHIJKLMNOPQS",
        "É",
        "a",
    ];
    let mut ids = vec![Identity::new(None, None, Vec::new())];
    for n in names {
        ids.push(Identity::new(Some(u(n)), None, Vec::new()));
        ids.push(Identity::new(None, Some(e(n)), Vec::new()));
        ids.push(Identity::new(None, None, vec![g(n)]));
        ids.push(Identity::new(Some(u(n)), Some(e("X")), vec![g("G")]));
        ids.push(Identity::new(None, Some(e(n)), vec![g("G"), g(n)]));
    }
    let named = |i: &Identity| match (&i.userid, &i.email, &i.groups[..]) {
        (Some(x), None, []) => Some((Rank::User, x.as_str().to_owned())),
        (None, Some(x), []) => Some((Rank::Email, x.as_str().to_owned())),
        (None, None, [x]) => Some((Rank::Group, x.as_str().to_owned())),
        _ => None,
    };
    for a in &ids {
        for b in &ids {
            let want = compare(a, b);
            if prefix(a) < prefix(b) {
                assert_eq!(want, std::cmp::Ordering::Less, "{a:?} {b:?}");
            }
            if let (Some((ra, na)), Some((rb, nb))) = (named(a), named(b)) {
                assert_eq!(
                    Rank::compare_named((ra, &na), (rb, &nb)),
                    want,
                    "{a:?} {b:?}"
                );
            }
        }
    }
    let mut sorted = ids.clone();
    sort_identities(&mut sorted);
    assert!(sorted.windows(2).all(|w| prefix(&w[0]) <= prefix(&w[1])));
    assert_eq!(sorted.first().map(|i| Rank::of(i).0), Some(Rank::User));
}

/// The audit, its summary (listed identities grouped in pieces) and the
/// script checks give the same bytes in a pool of one thread and of four,
/// however small the pieces.
#[test]
fn audits_are_the_same_at_any_number_of_threads() {
    let app = many_grants();
    let opts = Options::default();
    let ev = Evaluator::new(&app, opts);
    let json = |audit: &Audit| {
        let mut out = Vec::new();
        audit.write_json(&mut out).unwrap();
        (
            String::from_utf8(out).unwrap(),
            audit.reductions,
            audit.decided,
        )
    };
    let summary = |audit: &Audit| {
        let grants: Vec<String> = audit
            .grants
            .iter()
            .map(|g| format!("{} {:?} {:?}", g.decision(), g.view.reduction, g.cross))
            .collect();
        let findings = serde_json::to_string_pretty(&audit.findings).unwrap();
        (grants, findings, audit.reductions, audit.decided)
    };
    let run = |threads: usize, piece: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let ids = named_identities(ev.security(), app.star.as_deref());
            let full = Audit::grouped(&app, &opts, &ev, ids, &|_, _| {}, piece);
            let listed = Audit::summary(&app, &opts, piece.max(2), piece);
            (json(&full), summary(&listed))
        })
    };
    let one = run(1, usize::MAX);
    for piece in [1, 2, 7, 151] {
        for threads in [1, 4] {
            assert!(
                run(threads, piece) == one,
                "{threads} threads, pieces of {piece}"
            );
        }
    }
}

/// Progress counts every distinct grant once, from whichever thread
/// decided it, and ends at the total.
#[test]
fn progress_counts_each_grant_once() {
    let app = many_grants();
    let opts = Options::default();
    let ev = Evaluator::new(&app, opts);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let calls = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let audit = pool.install(|| {
        let ids = named_identities(ev.security(), app.star.as_deref());
        let tick = |done: usize, _total: usize| {
            calls.fetch_add(1, Ordering::Relaxed);
            most.fetch_max(done, Ordering::Relaxed);
        };
        Audit::grouped(&app, &opts, &ev, ids, &tick, 1)
    });
    assert_eq!(calls.load(Ordering::Relaxed), audit.decided);
    assert_eq!(most.load(Ordering::Relaxed), audit.decided);
}
