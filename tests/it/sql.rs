//! SQL sources against real databases: a PostgreSQL server the test starts
//! itself, and SQLite files. The security and data of `fixtures/sql/`
//! from a database give the preview and audit of the same rows INLINE;
//! values arrive typed; each failure is a located error that never shows
//! a password; a recording replays byte for byte with the server stopped.

use std::path::{Path, PathBuf};
use std::process::Output;

use section_access::load::{LoadOptions, run_file};
use section_access::model::Value;

use crate::common::{root, run, table, table_texts, text};
use crate::pg_server::{PASSWORD, PgServer, free_port};

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/sql").join(name)
}

/// A fresh folder for one test.
fn temp(test: &str) -> PathBuf {
    crate::common::fresh_dir("sql", test)
}

/// A SQLite file made from `schema`.
fn sqlite_file(dir: &Path, schema: &str) -> PathBuf {
    let path = dir.join("db.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&std::fs::read_to_string(fixture(schema)).unwrap())
        .unwrap();
    path
}

/// JSON output with what differs between a script and its INLINE twin
/// taken out: the script's name, and where rows are (file, line).
fn comparable(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success() || o.status.code() == Some(3),
        "{}",
        text(&o.stderr)
    );
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for key in ["file", "line", "script", "sql"] {
                    m.remove(key);
                }
                // Notes on values from a database.
                for key in ["findings", "notes"] {
                    if let Some(serde_json::Value::Array(list)) = m.get_mut(key) {
                        list.retain(|f| !f["code"].as_str().is_some_and(|c| c.starts_with("sql-")));
                    }
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            serde_json::Value::String(s) => {
                if let Some(at) = s.find("(line ") {
                    let end = s[at..].find(')').map_or(s.len(), |e| at + e + 1);
                    s.replace_range(at..end, "(line N)");
                }
            }
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// The identities the comparisons preview.
const WHO: &[&[&str]] = &[
    &["--user", "ANNA"],
    &["--user", "BO"],
    &["--user", "CY"],
    &["--user", "DI"],
    &["--user", "EVE", "--group", "SALES"],
    // Only a row with a NULL USERID names group HR: no match (SPEC §3).
    &["--user", "FAY", "--group", "HR"],
    &["--user", "ZED"],
];

/// `preview` of every identity and `audit` of app.qvs through `connect`
/// equal those of inline.qvs.
fn equals_inline(connect: &str) {
    let app = fixture("app.qvs");
    let inline = fixture("inline.qvs");
    let (app, inline) = (app.to_str().unwrap(), inline.to_str().unwrap());
    for who in WHO {
        let mut a = vec!["preview", app, "--format", "json", "--connect", connect];
        a.extend_from_slice(who);
        let mut b = vec!["preview", inline, "--format", "json"];
        b.extend_from_slice(who);
        assert_eq!(comparable(&run(&a)), comparable(&run(&b)), "{who:?}");
    }
    let a = run(&["audit", app, "--format", "json", "--connect", connect]);
    let b = run(&["audit", inline, "--format", "json"]);
    assert_eq!(comparable(&a), comparable(&b));
}

/// A server with the fixtures' schema loaded.
fn server(test: &str, schema: &str) -> Option<PgServer> {
    let pg = PgServer::start(test)?;
    pg.run_file(&fixture(schema));
    Some(pg)
}

#[test]
fn postgres_tables_give_the_preview_and_audit_of_the_same_rows_inline() {
    let Some(pg) = server("pg-inline", "schema.sql") else {
        return;
    };
    equals_inline(&format!("Directory={}", pg.url(PASSWORD)));
}

#[test]
fn sqlite_tables_give_the_preview_and_audit_of_the_same_rows_inline() {
    let dir = temp("sqlite-inline");
    let db = sqlite_file(&dir, "schema.sql");
    equals_inline(&format!("directory=sqlite:{}", db.display()));
}

fn options(connect: &str, url: String) -> LoadOptions {
    LoadOptions {
        connect: vec![(connect.to_string(), url)],
        ..LoadOptions::default()
    }
}

#[test]
fn postgres_values_arrive_as_qlik_receives_typed_data() {
    let Some(pg) = server("pg-types", "types-postgres.sql") else {
        return;
    };
    let app = run_file(
        &fixture("types.qvs"),
        &options("Directory", pg.url(PASSWORD)),
    )
    .unwrap();
    let (names, rows) = table_texts(&app.data, "Typed");
    assert_eq!(
        names,
        [
            "i", "big", "n", "f", "digits", "d", "ts", "t", "b", "nothing"
        ]
    );
    let s = |t: &str| Some(t.to_string());
    assert_eq!(
        rows,
        [
            vec![
                s("42"),
                s("9007199254741000"),
                s("10.5"),
                s("0.25"),
                s("007"),
                s("2024-01-31"),
                s("2024-01-31 18:00:00"),
                s("06:00:00"),
                s("1"),
                None
            ],
            vec![
                s("-1"),
                s("0"),
                s("-0.001"),
                s("1e20"),
                s("12"),
                s("1899-12-30"),
                s("2024-02-01 00:00:00.500"),
                s("23:59:59"),
                s("0"),
                None
            ],
        ]
    );
    let (_, values) = table(&app.data, "Typed");
    // Text of digits stays text; dates are duals of Qlik's serial.
    assert!(matches!(&values[0][4], Value::Text(t) if &**t == "007"));
    assert!(matches!(&values[1][4], Value::Text(t) if &**t == "12"));
    assert!(matches!(&values[0][5], Value::Dual(n, _) if *n == 45322.0));
    assert!(matches!(&values[0][6], Value::Dual(n, _) if *n == 45322.75));
    assert!(matches!(&values[0][7], Value::Dual(n, _) if *n == 0.25));
    assert!(matches!(&values[0][2], Value::Num(n) if *n == 10.5));
    let codes: Vec<&str> = app.warnings.iter().map(|w| w.code).collect();
    assert!(
        codes.contains(&"sql-boolean") && codes.contains(&"sql-digit-text"),
        "{codes:?}"
    );
    assert!(app.data.tables()[0].sql()[0].connection == "Directory");
}

/// `check` of `script` with `args`: its exit code and stderr.
fn failed(script: &str, args: &[&str]) -> (Option<i32>, String) {
    let path = fixture(script);
    let mut a = vec!["check", path.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = run(&a);
    (o.status.code(), text(&o.stderr))
}

#[test]
fn each_failure_is_located_and_never_shows_the_password() {
    // No mapping: the CONNECT statement, and how to map it.
    let (code, err) = failed("app.qvs", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no database is mapped to the connection `Shared:Directory`"),
        "{err}"
    );
    assert!(err.contains("app.qvs:3"), "{err}");
    assert!(err.contains("--connect"), "{err}");
    // Nothing listens on the port.
    let url = format!(
        "Directory=postgresql://reader:{PASSWORD}@127.0.0.1:{}/postgres",
        free_port()
    );
    let (code, err) = failed("app.qvs", &["--connect", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("load::cannot-connect") && err.contains("reader:***@127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
    // An unknown scheme.
    let (_, err) = failed("app.qvs", &["--connect", "Directory=mysql://u:hidden@h/db"]);
    assert!(
        err.contains("no database URL") && !err.contains("hidden"),
        "{err}"
    );
    let Some(pg) = server("pg-errors", "schema.sql") else {
        return;
    };
    // A wrong password.
    let url = format!("Directory={}", pg.url("wrong-pw"));
    let (code, err) = failed("app.qvs", &["--connect", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("wrong-pw"), "{err}");
    // A statement the database refuses: located at the SQL statement.
    let url = format!("Directory={}", pg.url(PASSWORD));
    let (code, err) = failed("bad-sql.qvs", &["--connect", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("load::sql-failed") && err.contains("no_such_table"),
        "{err}"
    );
    assert!(err.contains("bad-sql.qvs:4"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
    // Writes are refused: statements run read-only.
    let (code, err) = failed("writes.qvs", &["--connect", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("read-only transaction"), "{err}");
    // SQL before any CONNECT.
    let (code, err) = failed("no-connect.qvs", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("`SQL` with no connection") && err.contains("no-connect.qvs:2"),
        "{err}"
    );
}

#[test]
fn a_recording_replays_byte_for_byte_with_the_server_stopped() {
    let Some(mut pg) = server("pg-record", "schema.sql") else {
        return;
    };
    let dir = temp("record");
    let rec = dir.join("recording");
    let app = fixture("app.qvs");
    let app = app.to_str().unwrap();
    let url = format!("Directory={}", pg.url(PASSWORD));
    let live: Vec<Output> = [
        vec!["preview", app, "--user", "BO", "--format", "json"],
        vec!["audit", app, "--format", "json"],
        vec!["check", app, "--format", "json"],
    ]
    .iter()
    .map(|args| {
        let mut a = args.clone();
        a.extend(["--connect", url.as_str(), "--record", rec.to_str().unwrap()]);
        run(&a)
    })
    .collect();
    pg.stop();
    let replayed: Vec<Output> = [
        vec!["preview", app, "--user", "BO", "--format", "json"],
        vec!["audit", app, "--format", "json"],
        vec!["check", app, "--format", "json"],
    ]
    .iter()
    .map(|args| {
        let mut a = args.clone();
        a.extend(["--replay", rec.to_str().unwrap()]);
        run(&a)
    })
    .collect();
    for (l, r) in live.iter().zip(&replayed) {
        assert!(
            matches!(l.status.code(), Some(0 | 3)),
            "{}",
            text(&l.stderr)
        );
        assert_eq!(l.status.code(), r.status.code(), "{}", text(&r.stderr));
        assert_eq!(text(&l.stdout), text(&r.stdout));
        assert!(!l.stdout.is_empty());
    }
    // Each JSON says which tables came from SQL: connection and line.
    for (o, path) in live
        .iter()
        .zip(["/sql/0", "/sql/0", "/security_tables/0/sql/0"])
    {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let source = v.pointer(path).unwrap_or_else(|| panic!("{path} in {v}"));
        assert_eq!(source["connection"], "Shared:Directory", "{source}");
        assert_eq!(source["line"], 7, "{source}");
    }
    let manifest = std::fs::read_to_string(rec.join("manifest.json")).unwrap();
    assert!(!manifest.contains(PASSWORD), "{manifest}");
    // A statement the recording does not hold.
    let other = fixture("bad-sql.qvs");
    let o = run(&[
        "check",
        other.to_str().unwrap(),
        "--replay",
        rec.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("load::not-recorded") && err.contains("bad-sql.qvs:4"),
        "{err}"
    );
    // A damaged recording is a located error that says what is wrong.
    std::fs::write(rec.join("0001.qvd"), b"<QvdTableHeader>").unwrap();
    let o = run(&["check", app, "--replay", rec.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("load::bad-file")
            && err.contains("0001.qvd` cannot be read: the file has no end of header"),
        "{err}"
    );
}

/// The `PostgreSQL Unicode` driver of unixODBC (Debian `odbc-postgresql`),
/// or `None` after saying why the test skips.
#[cfg(feature = "odbc")]
fn postgres_odbc_driver(test: &str) -> Option<&'static str> {
    let ini = std::fs::read_to_string("/etc/odbcinst.ini").unwrap_or_default();
    if ini.contains("[PostgreSQL Unicode]") {
        Some("PostgreSQL Unicode")
    } else {
        eprintln!(
            "\nskipping {test}: the PostgreSQL ODBC driver is not installed; `sh ci/postgres-setup.sh` installs it\n"
        );
        None
    }
}

#[cfg(feature = "odbc")]
#[test]
fn odbc_tables_give_the_preview_and_audit_of_the_same_rows_inline() {
    let Some(driver) = postgres_odbc_driver("odbc-inline") else {
        return;
    };
    let Some(pg) = server("odbc-inline", "schema.sql") else {
        return;
    };
    let connect = format!(
        "Directory=odbc:Driver={{{driver}}};Server=127.0.0.1;Port={};Database=postgres;Uid=reader;Pwd={PASSWORD}",
        pg.port
    );
    equals_inline(&connect);
    // A refused statement is located, and the password never shows.
    let (code, err) = failed("bad-sql.qvs", &["--connect", &connect]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("load::sql-failed") && err.contains("bad-sql.qvs:4"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
    // Nothing a statement does stays: it is rolled back.
    let (code, _) = failed("writes.qvs", &["--connect", &connect]);
    assert_eq!(code, Some(0));
    let app = fixture("app.qvs");
    let o = run(&[
        "check",
        app.to_str().unwrap(),
        "--format",
        "json",
        "--connect",
        &connect,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tables"][1]["rows"], 5, "{v}");
}

#[test]
fn sqlite_values_arrive_as_qlik_receives_typed_data() {
    let dir = temp("sqlite-types");
    let db = sqlite_file(&dir, "types-sqlite.sql");
    let url = format!("sqlite:{}", db.display());
    let app = run_file(&fixture("types.qvs"), &options("Directory", url)).unwrap();
    let (names, rows) = table_texts(&app.data, "Typed");
    assert_eq!(names, ["i", "n", "digits", "d", "ts", "word", "absent"]);
    let s = |t: &str| Some(t.to_string());
    assert_eq!(
        rows,
        [
            vec![
                s("42"),
                s("10.5"),
                s("007"),
                s("2024-01-31"),
                s("2024-01-31 18:00:00"),
                s("x"),
                None
            ],
            vec![
                s("-1"),
                s("-0.001"),
                s("12"),
                s("not a date"),
                s("2024-02-01 00:00:00.500"),
                s("y"),
                None
            ],
        ]
    );
    let (_, values) = table(&app.data, "Typed");
    assert!(matches!(&values[0][2], Value::Text(t) if &**t == "007"));
    assert!(matches!(&values[0][3], Value::Dual(n, _) if *n == 45322.0));
    assert!(matches!(&values[1][3], Value::Text(_)));
    let codes: Vec<&str> = app.warnings.iter().map(|w| w.code).collect();
    assert!(
        codes.contains(&"sql-declared-date") && codes.contains(&"sql-digit-text"),
        "{codes:?}"
    );
    // A file that is not there, and a statement SQLite refuses.
    let missing = format!("Directory=sqlite:{}", dir.join("nope.sqlite").display());
    let (code, err) = failed("types.qvs", &["--connect", &missing]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("load::cannot-connect") && err.contains("no SQLite file"),
        "{err}"
    );
    let (code, err) = failed(
        "bad-sql.qvs",
        &["--connect", &format!("Directory=sqlite:{}", db.display())],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("load::sql-failed") && err.contains("no such table: no_such_table"),
        "{err}"
    );
    // Writes are refused: the file is opened read-only.
    let full = sqlite_file(&temp("sqlite-writes"), "schema.sql");
    let (code, err) = failed(
        "writes.qvs",
        &["--connect", &format!("Directory=sqlite:{}", full.display())],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("readonly"), "{err}");
}
