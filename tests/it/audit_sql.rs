//! `export --target duckdb|spark`: the audit SQL run in real DuckDB and
//! Spark (local mode) gives, for every identity and table, the decision,
//! the reason and the rows `audit` gives — on every access scenario under
//! the options its cases use, on random apps, on the example app and on
//! generated app S, counted both per grant class and per atom.
//!
//! DuckDB and pyspark are Python packages (`.ci/run` installs them); a
//! machine without them skips these tests with a note.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::strategy::{Strategy as _, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::Value as Json;

use section_access::access::Options;
use section_access::audit::Audit;
use section_access::export::audit_sql::{Engine, Strategy, audit_sql};
use section_access::load::{App, LoadOptions, run_file, run_source};
use section_access::names::Identity;

use crate::access_fixtures::identities_by_options;
use crate::common::{fixture_folders, root, run, text};
use crate::random_app::random_app;

/// A row of the answer: userid, email, groups, decision, reason, table,
/// rows.
type Row = (
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<u64>,
);

fn temp(test: &str) -> PathBuf {
    crate::common::fresh_dir("audit-sql", test)
}

/// True when Python can import `module`; else a skip note.
fn python_has(module: &str, test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("\nskipping {test}: python3 cannot import {module} (`pip install {module}`)\n");
    }
    ok
}

/// The answers of the exports in `dirs`, run by `tests/audit_sql/run.py`.
fn answers(engine: Engine, dirs: &[PathBuf]) -> BTreeMap<PathBuf, Vec<Row>> {
    let script = root().join("tests/audit_sql/run.py");
    let mut out = BTreeMap::new();
    // Spark reads paths relative to its own folder: one run per export.
    let batches: Vec<&[PathBuf]> = match engine {
        Engine::DuckDb => vec![dirs],
        Engine::Spark => dirs.chunks(1).collect(),
    };
    for batch in batches {
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(engine.name()).args(batch);
        if let (Engine::Spark, [dir]) = (engine, batch) {
            cmd.current_dir(dir);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "run.py: {}", text(&o.stderr));
        let json: BTreeMap<String, Vec<Json>> = serde_json::from_slice(&o.stdout).unwrap();
        for (dir, rows) in json {
            let rows = rows.iter().map(row).collect();
            out.insert(PathBuf::from(dir), rows);
        }
    }
    out
}

fn row(v: &Json) -> Row {
    let s = |i: usize| v[i].as_str().map(str::to_string);
    (
        s(0),
        s(1),
        s(2).unwrap_or_default(),
        s(3).unwrap(),
        s(4),
        s(5),
        v[6].as_u64(),
    )
}

/// What the audit says, as the audit SQL's rows.
fn expected(app: &App, opts: &Options, extra: &[Identity]) -> Vec<Row> {
    let audit = Audit::run(app, opts, extra, &|_, _| {});
    let tables: Vec<String> = app
        .data
        .tables()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let mut out = Vec::new();
    for entry in &audit.entries {
        let grant = audit.grant_of(entry).unwrap();
        let id = &entry.identity;
        let groups: Vec<&str> = id.groups.iter().map(|g| g.as_str()).collect();
        let who = (
            id.userid.as_ref().map(|u| u.to_string()),
            id.email.as_ref().map(|e| e.to_string()),
            groups.join(";"),
            grant.decision().to_string(),
            grant.outcome.reason().map(|r| r.code().to_string()),
        );
        if tables.is_empty() {
            let w = who.clone();
            out.push((w.0, w.1, w.2, w.3, w.4, None, None));
        }
        for t in &tables {
            let w = who.clone();
            out.push((
                w.0,
                w.1,
                w.2,
                w.3,
                w.4,
                Some(t.clone()),
                Some(grant.view.rows(t) as u64),
            ));
        }
    }
    out
}

/// Exports `app` for `engine` into `dir`, counting by `strategy`.
fn export(
    app: &App,
    opts: &Options,
    extra: &[Identity],
    engine: Engine,
    strategy: Option<Strategy>,
    dir: &Path,
) {
    let export = audit_sql(app, opts, extra, engine, strategy).unwrap();
    if let Some(s) = strategy {
        assert_eq!(export.strategy, s);
    }
    export.write(dir).unwrap();
}

/// The first difference between two answers, or `None`.
fn difference(got: &[Row], want: &[Row]) -> Option<String> {
    if got == want {
        return None;
    }
    let first = got.iter().zip(want).position(|(g, w)| g != w);
    Some(match first {
        Some(i) => format!("row {i}: sql {:?}\n  audit {:?}", got[i], want[i]),
        None => format!("{} rows from sql, {} from the audit", got.len(), want.len()),
    })
}

/// The counting strategies to try on an app: per class always, per atom
/// when one table holds every reduction field.
fn strategies(app: &App, opts: &Options) -> Vec<Option<Strategy>> {
    let auto = audit_sql(app, opts, &[], Engine::DuckDb, None)
        .unwrap()
        .strategy;
    let mut out = vec![Some(Strategy::Classes)];
    if auto == Strategy::Atoms {
        out.push(Some(Strategy::Atoms));
    }
    out
}

#[test]
fn every_access_scenario_agrees_in_duckdb() {
    if !python_has("duckdb", "audit SQL in DuckDB") {
        return;
    }
    let base = temp("scenarios");
    let dirs = fixture_folders("access");
    let mut cases: Vec<(String, PathBuf, Vec<Row>)> = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let app = run_file(&dir.join("script.qvs"), &LoadOptions::default()).unwrap();
        let by_options = identities_by_options(dir);
        for (n, (key, (opts, ids))) in by_options.iter().enumerate() {
            let want = expected(&app, opts, ids);
            for strategy in strategies(&app, opts) {
                let out = base.join(format!("{name}-{n}-{strategy:?}"));
                export(&app, opts, ids, Engine::DuckDb, strategy, &out);
                cases.push((format!("{name} {key} {strategy:?}"), out, want.clone()));
            }
        }
    }
    let dirs: Vec<PathBuf> = cases.iter().map(|(_, d, _)| d.clone()).collect();
    let got = answers(Engine::DuckDb, &dirs);
    let mut failures = Vec::new();
    let mut atoms = 0;
    for (label, dir, want) in &cases {
        atoms += usize::from(label.ends_with("Some(Atoms)"));
        if let Some(d) = difference(&got[dir], want) {
            failures.push(format!("{label}: {d}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 50, "only {} exports checked", cases.len());
    assert!(atoms >= 10, "only {atoms} exports counted per atom");
}

#[test]
fn random_apps_agree_in_duckdb() {
    if !python_has("duckdb", "audit SQL of random apps in DuckDB") {
        return;
    }
    let base = temp("random");
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::deterministic();
    let strategy = random_app();
    let mut checked = Vec::new();
    for n in 0..cases {
        let app = strategy.new_tree(&mut runner).unwrap().current();
        let script = app.script();
        let loaded = run_source(&base.join("app.qvs"), &script, &LoadOptions::default()).unwrap();
        let ids = app.identities();
        let opts = Options::default();
        let Ok(auto) = audit_sql(&loaded, &opts, &ids, Engine::DuckDb, None) else {
            // Loops are refused, as the PostgreSQL export refuses them.
            let e = audit_sql(&loaded, &opts, &ids, Engine::DuckDb, None).unwrap_err();
            assert!(e.to_string().contains("form a loop"), "{script}\n{e}");
            continue;
        };
        let want = expected(&loaded, &opts, &ids);
        let mut ways = vec![Strategy::Classes];
        if auto.strategy == Strategy::Atoms {
            ways.push(Strategy::Atoms);
        }
        for way in ways {
            let out = base.join(format!("{n}-{way:?}"));
            export(&loaded, &opts, &ids, Engine::DuckDb, Some(way), &out);
            checked.push((script.clone(), out, want.clone()));
        }
    }
    let dirs: Vec<PathBuf> = checked.iter().map(|(_, d, _)| d.clone()).collect();
    let got = answers(Engine::DuckDb, &dirs);
    for (script, dir, want) in &checked {
        if let Some(d) = difference(&got[dir], want) {
            panic!("{}:\n{script}\n{d}", dir.display());
        }
    }
    assert!(
        checked.len() >= cases / 2,
        "only {} random exports checked",
        checked.len()
    );
}

/// The example app, and app S when `../shared/bench/gen.py` is there.
fn example_and_app_s(engine: Engine, test: &str) -> Vec<PathBuf> {
    let mut apps = vec![root().join("fixtures/example/app.qvs")];
    apps.extend(crate::common::app_s(
        &temp(&format!("app-s-{}", engine.name())),
        test,
    ));
    apps
}

fn engine_agrees_on_example_and_app_s(engine: Engine, test: &str) {
    let base = temp(engine.name());
    let mut cases = Vec::new();
    for (n, path) in example_and_app_s(engine, test).iter().enumerate() {
        let app = run_file(path, &LoadOptions::default()).unwrap();
        let opts = Options::default();
        let want = expected(&app, &opts, &[]);
        // Spark, slower to start each statement, runs the strategy chosen.
        let ways = match engine {
            Engine::DuckDb => strategies(&app, &opts),
            Engine::Spark => vec![None],
        };
        for strategy in ways {
            let out = base.join(format!("{n}-{strategy:?}"));
            export(&app, &opts, &[], engine, strategy, &out);
            cases.push((path.clone(), out, want.clone()));
        }
    }
    let dirs: Vec<PathBuf> = cases.iter().map(|(_, d, _)| d.clone()).collect();
    let got = answers(engine, &dirs);
    for (path, dir, want) in &cases {
        if let Some(d) = difference(&got[dir], want) {
            panic!("{} ({}): {d}", path.display(), dir.display());
        }
        assert!(want.len() >= 7 * 4);
    }
}

#[test]
fn the_example_and_app_s_agree_in_duckdb() {
    if python_has("duckdb", "audit SQL of the example and app S in DuckDB") {
        engine_agrees_on_example_and_app_s(Engine::DuckDb, "audit SQL: app S in DuckDB");
    }
}

#[test]
fn the_example_and_app_s_agree_in_spark() {
    let java = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !java {
        eprintln!("\nskipping audit SQL in Spark: no java on the PATH\n");
        return;
    }
    if python_has("pyspark", "audit SQL of the example and app S in Spark") {
        engine_agrees_on_example_and_app_s(Engine::Spark, "audit SQL: app S in Spark");
    }
}

#[test]
fn the_cli_writes_audit_sql_and_says_how_to_run_it() {
    let out = temp("cli");
    let o = run(&[
        "export",
        "fixtures/example/app.qvs",
        "--target",
        "duckdb",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("duckdb < audit.sql"));
    let sql = std::fs::read_to_string(out.join("audit.sql")).unwrap();
    assert!(sql.contains("read_csv('data/t0.csv'"), "{sql}");
    assert!(out.join("data/ids.csv").exists());
    let spark = temp("cli-spark");
    let o = run(&[
        "export",
        "fixtures/example/app.qvs",
        "--target",
        "spark",
        "--out",
        spark.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let sql = std::fs::read_to_string(spark.join("audit.sql")).unwrap();
    assert!(sql.contains("USING csv"), "{sql}");
    // Identities are for the audit SQL only.
    let o = run(&[
        "export",
        "fixtures/example/app.qvs",
        "--out",
        temp("cli-pg").to_str().unwrap(),
        "--identities",
        "fixtures/example/app.qvs",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("--identities does not apply to `--target postgres`"),
        "{}",
        text(&o.stderr)
    );
    // The PostgreSQL options are refused for the audit SQL.
    for flag in [["--schema", "s"], ["--identity", "current-user"]] {
        let o = run(&[
            "export",
            "fixtures/example/app.qvs",
            "--target",
            "duckdb",
            "--out",
            temp("cli-misplaced").to_str().unwrap(),
            flag[0],
            flag[1],
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(&format!("{} does not apply to `--target duckdb`", flag[0])),
            "{}",
            text(&o.stderr)
        );
    }
}

#[test]
fn refusals_are_the_same_as_for_postgres() {
    let dir = root().join("fixtures/export-errors/loop");
    let o = run(&[
        "export",
        dir.join("script.qvs").to_str().unwrap(),
        "--target",
        "duckdb",
        "--out",
        temp("refusal").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("form a loop"),
        "{}",
        text(&o.stderr)
    );
}
