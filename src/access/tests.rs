//! Every rule of SPEC §2–§6 and §8 on hand-built apps.

use super::*;
use crate::load::App;
use crate::names::{Email, GroupName, UserId};
use crate::test_support::{ModelBuilder, app};

fn sales() -> ModelBuilder {
    ModelBuilder::new().table(
        "Sales",
        &["COUNTRY", "PRODUCT", "SALES_AMOUNT"],
        &[
            &["US", "Electronics", "101"],
            &["US", "Furniture", "102"],
            &["US", "Other", "103"],
            &["UK", "Electronics", "201"],
            &["UK", "Furniture", "202"],
            &["UK", "Other", "203"],
            &["DE", "Electronics", "301"],
            &["DE", "Furniture", "302"],
            &["DE", "Other", "303"],
        ],
    )
}

/// The Qlik Core tutorial (seeds): `ACCESS, USERID, COUNTRY, OMIT`.
fn tutorial() -> App {
    app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY", "OMIT"],
            &[
                &["ADMIN", "ADMIN", "", ""],
                &["USER", "US-USER", "US", ""],
                &["USER", "UK-USER", "UK", ""],
                &["USER", "DE-USER", "DE", ""],
            ],
        ),
        sales(),
    )
}

fn eval(app: &App, id: &Identity) -> Decision {
    evaluate(app, id, &Options::default())
}

fn user(id: &str) -> Identity {
    Identity::user(id)
}

fn rows(d: &Decision, app: &App) -> Vec<(String, usize)> {
    let omitted = d.omitted_ids();
    d.tables(&app.data, &omitted)
        .map(|ts| ts.map(|t| (t.name().to_string(), t.count())).collect())
        .unwrap_or_default()
}

fn reduction(d: &Decision, app: &App) -> Vec<(String, Vec<String>)> {
    d.reduction_text(&app.data)
}

fn codes(d: &Decision) -> Vec<&'static str> {
    d.notes.iter().map(|n| n.code).collect()
}

fn denied(d: &Decision) -> Option<&'static str> {
    d.outcome.reason().map(DenyReason::code)
}

#[test]
fn tutorial_admin_sees_everything_and_users_their_country() {
    let app = tutorial();
    let d = eval(&app, &user("admin"));
    assert_eq!(d.outcome, Outcome::Granted);
    assert_eq!(d.access, Some(AccessLevel::Admin));
    assert_eq!(rows(&d, &app), [("Sales".to_string(), 9)]);
    assert!(
        reduction(&d, &app).is_empty(),
        "blank ADMIN reduction not applied"
    );
    for (who, country) in [("us-user", "US"), ("uk-user", "UK"), ("de-user", "DE")] {
        let d = eval(&app, &user(who));
        assert_eq!(d.access, Some(AccessLevel::User));
        assert_eq!(
            reduction(&d, &app),
            [("COUNTRY".to_string(), vec![country.to_string()])]
        );
        assert_eq!(rows(&d, &app), [("Sales".to_string(), 3)]);
        assert_eq!(d.matched_rows.len(), 1);
    }
    let d = eval(&app, &user("fr-user"));
    assert_eq!(denied(&d), Some("no-matching-row"));
    assert!(d.reduced.is_none());
}

#[test]
fn matched_rows_carry_table_row_and_line() {
    let app = tutorial();
    let d = eval(&app, &user("uk-user"));
    let m = &d.matched_rows[0];
    assert_eq!(
        (m.table.as_str(), m.row, m.line, m.kept),
        ("SA", 3, Some(4), true)
    );
}

#[test]
fn per_field_union_gives_the_cross_product() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY", "CATEGORY"],
            &[
                &["USER", "U", "GERMANY", "MACHINES"],
                &["USER", "U", "FRANCE", "FOOD"],
            ],
        ),
        ModelBuilder::new().table(
            "Sales",
            &["COUNTRY", "CATEGORY", "AMOUNT"],
            &[
                &["GERMANY", "MACHINES", "1"],
                &["GERMANY", "FOOD", "2"],
                &["FRANCE", "FOOD", "3"],
                &["FRANCE", "MACHINES", "4"],
                &["SPAIN", "FOOD", "5"],
            ],
        ),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(
        rows(&d, &app),
        [("Sales".to_string(), 4)],
        "Germany/Food included"
    );
    assert!(codes(&d).contains(&"cross-product"));
}

#[test]
fn star_means_the_listed_values_only() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[
                &["USER", "ALL", "*"],
                &["USER", "A", "US"],
                &["USER", "B", "UK"],
                &["USER", "C", ""],
            ],
        ),
        sales(),
    );
    let d = eval(&app, &user("all"));
    assert_eq!(
        reduction(&d, &app),
        [(
            "COUNTRY".to_string(),
            vec!["UK".to_string(), "US".to_string()]
        )]
    );
    assert_eq!(
        rows(&d, &app),
        [("Sales".to_string(), 6)],
        "DE is listed nowhere"
    );
    let d = eval(&app, &user("c"));
    assert_eq!(
        denied(&d),
        Some("strict-exclusion"),
        "blank contributes nothing"
    );
}

#[test]
fn admin_reductions_apply_only_when_they_match() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[
                &["ADMIN", "BLANK", ""],
                &["ADMIN", "VALUED", "US"],
                &["ADMIN", "NOWHERE", "FR"],
                &["USER", "U", "FR"],
            ],
        ),
        sales(),
    );
    assert_eq!(
        rows(&eval(&app, &user("blank")), &app),
        [("Sales".to_string(), 9)]
    );
    assert_eq!(
        rows(&eval(&app, &user("valued")), &app),
        [("Sales".to_string(), 3)]
    );
    let d = eval(&app, &user("nowhere"));
    assert_eq!(rows(&d, &app), [("Sales".to_string(), 9)]);
    assert!(reduction(&d, &app).is_empty());
    assert!(!d.reduction[0].applied);
    assert_eq!(denied(&eval(&app, &user("u"))), Some("strict-exclusion"));
}

#[test]
fn values_missing_from_the_data_are_ignored_while_one_matches() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[&["USER", "U", "US"], &["USER", "U", "FR"]],
        ),
        sales(),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(
        reduction(&d, &app),
        [("COUNTRY".to_string(), vec!["US".to_string()])]
    );
}

#[test]
fn qlikview_strict_exclusion_is_a_switch_and_server_demotes_admin() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[&["USER", "U", "FR"], &["ADMIN", "A", "FR"]],
        ),
        sales(),
    );
    let qv = |strict, server| Options {
        product: Product::QlikView,
        strict_exclusion: strict,
        server,
        ..Options::default()
    };
    assert_eq!(
        denied(&evaluate(&app, &user("u"), &qv(true, false))),
        Some("strict-exclusion")
    );
    let d = evaluate(&app, &user("u"), &qv(false, false));
    assert_eq!(d.outcome, Outcome::Granted);
    assert_eq!(rows(&d, &app), [("Sales".to_string(), 9)]);
    assert_eq!(
        evaluate(&app, &user("a"), &qv(true, false)).outcome,
        Outcome::Granted
    );
    let d = evaluate(&app, &user("a"), &qv(true, true));
    assert_eq!(denied(&d), Some("strict-exclusion"));
    assert!(codes(&d).contains(&"server-admin-as-user"));
}

#[test]
fn omit_star_hides_every_listed_omit_value() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "OMIT"],
            &[
                &["USER", "A", "PRODUCT"],
                &["USER", "B", "SALES_AMOUNT"],
                &["USER", "C", "*"],
                &["USER", "D", ""],
            ],
        ),
        sales(),
    );
    let names = |d: &Decision| {
        d.omitted
            .iter()
            .map(|(_, n)| n.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&eval(&app, &user("a"))), ["PRODUCT"]);
    let d = eval(&app, &user("c"));
    assert_eq!(names(&d), ["PRODUCT", "SALES_AMOUNT"]);
    let omitted = d.omitted_ids();
    let t = d.tables(&app.data, &omitted).unwrap().next().unwrap();
    assert_eq!(
        t.fields().iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        ["COUNTRY"]
    );
    assert!(names(&eval(&app, &user("d"))).is_empty());
}

#[test]
fn omit_values_name_fields_regardless_of_case() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "OMIT"],
            &[&["USER", "U", "PHONE"], &["USER", "U", "FAX"]],
        ),
        ModelBuilder::new().table("People", &["Name", "Phone"], &[&["a", "1"]]),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(
        d.omitted
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>(),
        ["Phone"]
    );
    assert!(codes(&d).contains(&"omit-case-insensitive"));
    assert!(codes(&d).contains(&"omit-unknown-field"));
}

#[test]
fn several_security_tables_associate_through_shared_fields() {
    let app = app(
        ModelBuilder::new()
            .table(
                "Users",
                &["ACCESS", "USERID", "REGION"],
                &[&["USER", "U", "EU"], &["USER", "V", "NA"]],
            )
            .table(
                "Regions",
                &["REGION", "COUNTRY"],
                &[&["EU", "UK"], &["EU", "DE"], &["NA", "US"]],
            )
            .table("Hidden", &["USERID", "OMIT"], &[&["U", "SALES_AMOUNT"]]),
        sales(),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(
        reduction(&d, &app),
        [(
            "COUNTRY".to_string(),
            vec!["DE".to_string(), "UK".to_string()]
        )]
    );
    assert_eq!(rows(&d, &app), [("Sales".to_string(), 6)]);
    assert_eq!(d.omitted.len(), 1);
    let d = eval(&app, &user("v"));
    assert_eq!(
        reduction(&d, &app),
        [("COUNTRY".to_string(), vec!["US".to_string()])]
    );
    assert!(d.omitted.is_empty());
    assert!(
        codes(&d).contains(&"unmatched-security-field"),
        "REGION is no data field"
    );
}

#[test]
fn reduction_reaches_other_tables_through_keys_only() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[&["USER", "U", "US"]],
        ),
        ModelBuilder::new()
            .table(
                "Customers",
                &["CID", "COUNTRY"],
                &[&["1", "US"], &["2", "UK"]],
            )
            .table(
                "Orders",
                &["OID", "CID", "PID"],
                &[&["1", "1", "A"], &["2", "2", "B"], &["3", "1", "B"]],
            )
            .table("Products", &["PID"], &[&["A"], &["B"], &["C"]])
            .table("Calendar", &["DAY"], &[&["1"], &["2"]]),
    );
    let d = eval(&app, &user("u"));
    let r = rows(&d, &app);
    assert_eq!(
        r,
        [
            ("Customers".to_string(), 1),
            ("Orders".to_string(), 2),
            ("Products".to_string(), 2),
            ("Calendar".to_string(), 2)
        ]
    );
}

#[test]
fn reduced_to_nothing_denies_a_user_but_not_an_admin() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY", "PRODUCT"],
            &[&["USER", "U", "US", "X"], &["ADMIN", "A", "US", "X"]],
        ),
        ModelBuilder::new()
            .table(
                "Customers",
                &["CID", "COUNTRY"],
                &[&["1", "US"], &["2", "UK"]],
            )
            .table("Orders", &["CID", "PRODUCT"], &[&["2", "X"], &["1", "Y"]]),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(denied(&d), Some("reduced-to-nothing"));
    assert!(codes(&d).contains(&"reduced-to-nothing-any-table"));
    let d = eval(&app, &user("a"));
    assert_eq!(d.outcome, Outcome::Granted);
    assert_eq!(
        rows(&d, &app),
        [("Customers".to_string(), 0), ("Orders".to_string(), 0)]
    );
}

#[test]
fn group_ntname_and_email_columns() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "GROUP", "USER.EMAIL", "COUNTRY"],
            &[
                &["USER", "*", "SALES", "*", "US"],
                &["USER", "*", "*", "B@X.ORG", "UK"],
                &["USER", "C", "*", "*", "DE"],
            ],
        ),
        sales(),
    );
    let g = Identity::new(Some(UserId::new("z")), None, vec![GroupName::new("sales")]);
    let d = eval(&app, &g);
    assert_eq!(
        reduction(&d, &app),
        [("COUNTRY".to_string(), vec!["US".to_string()])]
    );
    assert!(codes(&d).contains(&"identity-columns-and"));
    let e = Identity::new(Some(UserId::new("z")), Some(Email::new("b@x.org")), vec![]);
    let d = eval(&app, &e);
    assert_eq!(
        reduction(&d, &app),
        [("COUNTRY".to_string(), vec!["UK".to_string()])]
    );
    assert!(codes(&d).contains(&"group-star-without-groups"));
    assert_eq!(
        denied(&eval(&app, &user("nobody"))),
        Some("no-matching-row")
    );

    let nt = app_nt();
    let by_user = eval(&nt, &user("u1"));
    assert_eq!(
        reduction(&by_user, &nt),
        [("COUNTRY".to_string(), vec!["US".to_string()])]
    );
    let by_group = eval(
        &nt,
        &Identity::new(Some(UserId::new("x")), None, vec![GroupName::new("g1")]),
    );
    assert_eq!(
        reduction(&by_group, &nt),
        [("COUNTRY".to_string(), vec!["UK".to_string()])]
    );
}

fn app_nt() -> App {
    app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "NTNAME", "COUNTRY"],
            &[&["USER", "U1", "US"], &["USER", "G1", "UK"]],
        ),
        sales(),
    )
}

#[test]
fn blank_identity_cells_and_legacy_fields_never_match() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "GROUP", "PASSWORD", "COUNTRY"],
            &[
                &["USER", "U", "", "*", "US"],
                &["USER", "V", "*", "SECRET", "UK"],
                &["USER", "W", "*", "*", "DE"],
            ],
        ),
        sales(),
    );
    let d = eval(
        &app,
        &Identity::new(Some(UserId::new("u")), None, vec![GroupName::new("g")]),
    );
    assert_eq!(denied(&d), Some("no-matching-row"));
    assert!(codes(&d).contains(&"blank-identity-cell"));
    let d = eval(&app, &user("v"));
    assert_eq!(denied(&d), Some("no-matching-row"));
    assert!(codes(&d).contains(&"legacy-field"));
    assert_eq!(eval(&app, &user("w")).outcome, Outcome::Granted);
}

#[test]
fn rows_without_a_valid_access_are_dropped() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[
                &["READER", "U", "US"],
                &["", "U", "UK"],
                &["USER", "V", "US"],
                &["ADMIN", "V", "UK"],
            ],
        ),
        sales(),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(denied(&d), Some("no-valid-access"));
    assert_eq!(d.matched_rows.iter().filter(|m| !m.kept).count(), 2);
    let d = eval(&app, &user("v"));
    assert_eq!(d.access, Some(AccessLevel::Admin));
    assert!(codes(&d).contains(&"mixed-access-rows"));
    assert_eq!(
        rows(&d, &app),
        [("Sales".to_string(), 6)],
        "admin reduced by its values"
    );
}

#[test]
fn numbers_compare_as_numbers_and_text_exactly() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "REGION", "COUNTRY"],
            &[&["USER", "U", "1", "us"], &["USER", "V", "1.0", "US"]],
        ),
        ModelBuilder::new().table(
            "Regions",
            &["REGION", "COUNTRY"],
            &[&["01", "us"], &["2", "US"]],
        ),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(rows(&d, &app), [("Regions".to_string(), 1)]);
    assert_eq!(
        reduction(&d, &app)[0],
        ("REGION".to_string(), vec!["01".to_string()])
    );
    let d = eval(&app, &user("v"));
    assert_eq!(
        denied(&d),
        Some("reduced-to-nothing"),
        "1.0 = 01 but US is only on region 2"
    );
}

#[test]
fn qlikview_needs_star_is_for_the_wildcard() {
    let mut app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[&["USER", "*", "US"]],
        ),
        sales(),
    );
    let qv = Options {
        product: Product::QlikView,
        ..Options::default()
    };
    let d = evaluate(&app, &user("u"), &qv);
    assert_eq!(denied(&d), Some("no-matching-row"));
    assert!(codes(&d).contains(&"star-is-literal"));
    assert_eq!(evaluate(&app, &user("*"), &qv).outcome, Outcome::Granted);
    app.star = Some("*".into());
    assert_eq!(evaluate(&app, &user("u"), &qv).outcome, Outcome::Granted);
    app.star = None;
    assert_eq!(
        eval(&app, &user("u")).outcome,
        Outcome::Granted,
        "sense: always a wildcard"
    );
}

#[test]
fn the_uppercase_modes_are_compared() {
    // A value from a file keeps its case under `inline`.
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[&["USER", "u", "us"], &["USER", "V", "US"]],
        ),
        sales(),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(denied(&d), Some("no-matching-row"));
    assert!(codes(&d).contains(&"uppercase-mode-differs"));
    let all = Options {
        uppercase: Uppercase::All,
        ..Options::default()
    };
    let d = evaluate(&app, &user("u"), &all);
    assert_eq!(
        reduction(&d, &app),
        [("COUNTRY".to_string(), vec!["US".to_string()])]
    );
    assert!(codes(&d).contains(&"uppercase-mode-differs"));
    let d = eval(&app, &user("v"));
    assert!(!codes(&d).contains(&"uppercase-mode-differs"));
}

#[test]
fn data_is_never_upper_cased() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[&["USER", "U", "US"]],
        ),
        ModelBuilder::new().table("Sales", &["COUNTRY"], &[&["us"]]),
    );
    assert_eq!(denied(&eval(&app, &user("u"))), Some("strict-exclusion"));
}

#[test]
fn security_fields_are_matched_with_data_fields_case_sensitively() {
    let app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[&["USER", "U", "US"]],
        ),
        ModelBuilder::new().table("Sales", &["Country"], &[&["US"], &["UK"]]),
    );
    let d = eval(&app, &user("u"));
    assert_eq!(rows(&d, &app), [("Sales".to_string(), 2)]);
    assert!(
        d.notes
            .iter()
            .any(|n| n.message.contains("did you mean `Country`"))
    );
}

#[test]
fn no_section_access_grants_everything() {
    let app = app(ModelBuilder::new(), sales());
    let app = App {
        has_section_access: false,
        ..app
    };
    let d = eval(&app, &user("x"));
    assert_eq!(d.outcome, Outcome::Granted);
    assert_eq!(d.access, None);
    assert_eq!(rows(&d, &app), [("Sales".to_string(), 9)]);
}

#[test]
fn the_json_report_follows_the_contract() {
    let app = tutorial();
    let id = user("us-user");
    let d = eval(&app, &id);
    let json = serde_json::to_string(&PreviewReport::new(&app, &id, &d)).unwrap();
    assert_eq!(
        json,
        r#"{"identity":{"userid":"US-USER","email":null,"groups":[]},"decision":"granted","reason":null,"access":"USER","matched_rows":[{"table":"SA","row":2,"line":3}],"reduction":{"COUNTRY":["US"]},"omitted":[],"tables":{"Sales":{"rows":3,"total":9,"fields":["COUNTRY","PRODUCT","SALES_AMOUNT"]}},"notes":[]}"#
    );
    let id = user("nobody");
    let d = eval(&app, &id);
    let json = serde_json::to_string(&PreviewReport::new(&app, &id, &d)).unwrap();
    assert_eq!(
        json,
        r#"{"identity":{"userid":"NOBODY","email":null,"groups":[]},"decision":"denied","reason":"no-matching-row","access":null,"matched_rows":[],"reduction":{},"omitted":[],"tables":{},"notes":[]}"#
    );
}

#[test]
fn cells_are_classified_alike_whatever_the_column_holds() {
    use rules::{Cell, classify};
    // `ALL` and the blank text are each tried as the `Star is` value; the
    // lower-case text makes the column no longer plain upper-case ASCII,
    // so both ways of classifying are compared.
    let star = |w: &[&str]| -> Vec<String> { w.iter().map(|s| s.to_string()).collect() };
    for extra in [None, Some("lower")] {
        for (wild, expected) in [
            (
                star(&["*"]),
                [Cell::Value, Cell::Wild, Cell::Value, Cell::Blank],
            ),
            (
                star(&["*", "ALL"]),
                [Cell::Value, Cell::Wild, Cell::Wild, Cell::Blank],
            ),
            (
                star(&[""]),
                [Cell::Value, Cell::Star, Cell::Value, Cell::BlankWild],
            ),
        ] {
            let mut texts = vec!["U1", "*", "ALL", ""];
            texts.extend(extra);
            let rows: Vec<[&str; 1]> = texts.iter().map(|t| [*t]).collect();
            let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
            let model = ModelBuilder::new().table("SA", &["USERID"], &rows).build();
            let field = model.find_field("USERID").unwrap();
            let cells = classify(&model, field, &wild);
            assert_eq!(
                cells.get(..4),
                Some(expected.as_slice()),
                "{wild:?} {extra:?}"
            );
            assert_eq!(
                cells.get(4..).unwrap_or_default(),
                match extra {
                    Some(_) => &[Cell::Value][..],
                    None => &[][..],
                }
            );
        }
    }
}

#[test]
fn blank_symbols_are_those_that_name_nobody() {
    let mut app = app(
        ModelBuilder::new().table(
            "SA",
            &["ACCESS", "USERID", "COUNTRY"],
            &[
                &["USER", "U", "US"],
                &["USER", " ", "US"],
                &["USER", "", "US"],
                &["USER", "*", "US"],
            ],
        ),
        sales(),
    );
    // A blank `Star is` value stays blank where identities are matched.
    app.star = Some(String::from(" "));
    let qv = Options {
        product: Product::QlikView,
        ..Options::default()
    };
    for opts in [Options::default(), qv] {
        let ev = Evaluator::new(&app, opts);
        let sec = ev.security();
        let userid = sec.find_field("USERID").unwrap();
        assert_eq!(
            ev.blank_symbols(userid),
            Some(vec![false, true, true, false])
        );
        let country = sec.find_field("COUNTRY").unwrap();
        assert_eq!(ev.blank_symbols(country), Some(vec![false]));
        let access = sec.find_field("ACCESS").unwrap();
        assert_eq!(ev.blank_symbols(access), None, "neither identity nor value");
    }
}
