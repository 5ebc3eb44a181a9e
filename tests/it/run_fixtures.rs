//! Runs every scenario under `fixtures/scripts/run/` and every failing script
//! under `fixtures/scripts/run-errors/`, comparing with the expectations kept
//! next to them.
//!
//! - `run/<name>/script.qvs` (+ data files, optional `options.json` with
//!   `allow_unsupported`, `libs` and `map_paths` to folders and
//!   `binary_script` to a script, relative to it) →
//!   `expected.json`: the tables of each model with fields and rows as text
//!   (NULL as `null`), warning codes, `approximate`, traces.
//! - `run-errors/<name>/script.qvs` → `expected.txt`: the location line and
//!   the diagnostic rendered without colour at width 80.
//!
//! `BLESS=1 cargo test --test it run_fixtures` rewrites the expectations.

use std::path::{Path, PathBuf};

use section_access::load::{App, LoadOptions, run_file};
use section_access::model::Model;
use serde_json::{Value as Json, json};

fn options(dir: &Path) -> LoadOptions {
    let mut opts = LoadOptions::default();
    if let Ok(text) = std::fs::read_to_string(dir.join("options.json")) {
        let v: Json = serde_json::from_str(&text).unwrap();
        opts.allow_unsupported = v["allow_unsupported"].as_bool().unwrap_or(false);
        opts.max_rows = v["max_rows"].as_u64().map(|n| n as usize);
        opts.max_iterations = v["max_iterations"].as_u64().map(|n| n as usize);
        if let Some(libs) = v["libs"].as_object() {
            for (k, p) in libs {
                opts.libs.insert(k.clone(), dir.join(p.as_str().unwrap()));
            }
        }
        if let Some(parent) = v["binary_script"].as_str() {
            opts.binary_script = Some(dir.join(parent));
        }
        if let Some(maps) = v["map_paths"].as_object() {
            for (prefix, p) in maps {
                opts.map_paths
                    .push((prefix.clone(), dir.join(p.as_str().unwrap())));
            }
        }
    }
    opts
}

fn model_json(m: &Model) -> Json {
    let mut tables = serde_json::Map::new();
    for t in m.tables() {
        let fields: Vec<Json> = t
            .fields()
            .map(|f| json!(m.field_name(f).unwrap().as_str()))
            .collect();
        let rows: Vec<Json> = (0..t.len())
            .map(|r| {
                Json::Array(
                    t.columns()
                        .iter()
                        .map(|c| {
                            let id = c.ids[r];
                            if id.is_null() {
                                Json::Null
                            } else {
                                json!(m.value(c.field, id).unwrap().text())
                            }
                        })
                        .collect(),
                )
            })
            .collect();
        tables.insert(
            t.name.as_str().to_string(),
            json!({"fields": fields, "rows": rows}),
        );
    }
    Json::Object(tables)
}

fn app_json(app: &App) -> Json {
    let warnings: Vec<&str> = app.warnings.iter().map(|w| w.code).collect();
    json!({
        "access": model_json(&app.access),
        "data": model_json(&app.data),
        "warnings": warnings,
        "approximate": app.approximate,
        "traces": app.traces,
    })
}

fn dirs(root: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some()
}

#[test]
fn run_fixtures() {
    let mut failures = Vec::new();
    let all = dirs("fixtures/scripts/run");
    assert!(!all.is_empty());
    for dir in all {
        let script = dir.join("script.qvs");
        let got = match run_file(&script, &options(&dir)) {
            Ok(app) => app_json(&app),
            Err(e) => {
                failures.push(format!("{}: {} ({})", dir.display(), e, e.location()));
                continue;
            }
        };
        let expected_path = dir.join("expected.json");
        if bless() {
            let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
            std::fs::write(&expected_path, text).unwrap();
            continue;
        }
        let expected: Json = serde_json::from_str(
            &std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|_| panic!("missing {}", expected_path.display())),
        )
        .unwrap();
        if got != expected {
            failures.push(format!(
                "{}: got\n{}",
                dir.display(),
                serde_json::to_string_pretty(&got).unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The diagnostic as a user sees it, without colour, 80 columns wide.
fn render(e: &section_access::load::LoadError) -> String {
    let mut out = format!("location: {}\n", e.location());
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .render_report(&mut out, e)
        .unwrap();
    out
}

#[test]
fn run_error_fixtures() {
    let mut failures = Vec::new();
    let all = dirs("fixtures/scripts/run-errors");
    assert!(!all.is_empty());
    for dir in all {
        let script = dir.join("script.qvs");
        let got = match run_file(&script, &options(&dir)) {
            Ok(_) => {
                failures.push(format!("{}: ran without error", dir.display()));
                continue;
            }
            Err(e) => render(&e),
        };
        let expected_path = dir.join("expected.txt");
        if bless() {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!("{}: got\n{got}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
