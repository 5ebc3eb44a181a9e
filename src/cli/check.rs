//! `section-access check`: parse and run a script, show what it loaded and
//! the findings; `--syntax` only parses.
//!
//! JSON (`--format json`), keys in this order:
//! `{"script", "approximate", "section_access", "security_tables": [{"name",
//! "rows", "fields"}], "tables": [...], "reduction_fields": [names],
//! "findings": [{"code", "severity", "message", "location", "help"}]}`;
//! with `--syntax`: `{"script", "syntax": "ok", "statements", "warnings":
//! [{"code", "message", "location"}]}`.

use std::fmt::Write as _;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use serde::Serialize;

use section_access::audit::{Audit, Finding};
use section_access::model::Model;
use section_access::script::{self, source::SourceMap};

use super::EvalArgs;
use super::audit::{FailOn, sarif_text, write_findings};
use super::{Exit, ScriptArgs, emit};

/// Output of `check`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum CheckFormat {
    /// Readable text for a terminal.
    #[default]
    Text,
    /// Stable JSON (documented in the library's rustdoc).
    Json,
    /// The findings as SARIF 2.1.0, for code scanning.
    Sarif,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    #[command(flatten)]
    script: ScriptArgs,
    #[command(flatten)]
    eval: EvalArgs,
    /// Only parse: report syntax errors without reading any data source.
    #[arg(long)]
    syntax: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: CheckFormat,
    /// With `--format sarif`: where `docs/findings.md` is published, for
    /// each rule's `helpUri`.
    #[arg(long, value_name = "URL")]
    docs_url: Option<String>,
    /// Exit 4 when a finding is at least this severe.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
}

/// A table as `check` reports it.
#[derive(Debug, Serialize)]
struct TableReport {
    name: String,
    rows: usize,
    fields: Vec<String>,
    /// The SQL statements the rows came from, when any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sql: Vec<section_access::model::SqlOrigin>,
}

/// The `check --format json` document.
#[derive(Debug, Serialize)]
struct CheckReport {
    script: String,
    approximate: bool,
    section_access: bool,
    security_tables: Vec<TableReport>,
    tables: Vec<TableReport>,
    reduction_fields: Vec<String>,
    findings: Vec<Finding>,
}

/// A parse warning with its place.
#[derive(Debug, Serialize)]
struct SyntaxWarning {
    code: String,
    message: String,
    location: String,
}

/// Runs `check`.
pub(super) fn run(args: &CheckArgs) -> Exit {
    if args.syntax {
        return syntax_only(args);
    }
    let app = match args.script.load() {
        Ok(app) => app,
        Err(code) => return code,
    };
    let opts = args.eval.options(args.script.uppercase);
    let mut audit = Audit::run_summary(&app, &opts);
    let report = CheckReport {
        script: args.script.script.display().to_string(),
        approximate: app.approximate,
        section_access: app.has_section_access,
        security_tables: tables_of(&app.security(opts.uppercase)),
        tables: tables_of(&app.data),
        reduction_fields: audit.fields.iter().map(|(name, _)| name.clone()).collect(),
        findings: std::mem::take(&mut audit.findings),
    };
    super::leave(audit);
    super::leave(app);
    let code = match (
        args.fail_on,
        report.findings.iter().map(|f| f.severity).max(),
    ) {
        (Some(f), Some(w)) if w >= f.severity() => Exit::Findings,
        _ => Exit::Ok,
    };
    let text = match args.format {
        CheckFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: cannot write the report: {e}");
                return Exit::Error;
            }
        },
        CheckFormat::Sarif => {
            match sarif_text(
                &report.findings,
                &args.script.script,
                args.docs_url.as_deref(),
            ) {
                Ok(s) => s,
                Err(code) => return code,
            }
        }
        CheckFormat::Text => text_report(&report),
    };
    emit(&text, code)
}

fn syntax_only(args: &CheckArgs) -> Exit {
    let path = &args.script.script;
    let text = match script::read(path) {
        Ok(text) => Arc::new(text),
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", path.display());
            return Exit::Error;
        }
    };
    let mut sources = SourceMap::default();
    let id = sources.add(path.to_path_buf(), Arc::clone(&text));
    let parsed = match script::parse(id, &text) {
        Ok(p) => p,
        Err(e) => {
            super::report_error(&e.with_source_name(path.display().to_string()));
            return Exit::Error;
        }
    };
    let warnings: Vec<SyntaxWarning> = parsed
        .warnings
        .iter()
        .map(|w| SyntaxWarning {
            code: w.code.to_string(),
            message: w.message.clone(),
            location: sources.location(w.span).to_string(),
        })
        .collect();
    let statements = parsed.script.body.len();
    let out = match args.format {
        CheckFormat::Sarif => {
            eprintln!(
                "error: --format sarif reports findings, and --syntax makes none: leave out --syntax"
            );
            return Exit::Usage;
        }
        CheckFormat::Json => {
            let doc = serde_json::json!({
                "script": path.display().to_string(),
                "syntax": "ok",
                "statements": statements,
                "warnings": warnings,
            });
            match serde_json::to_string_pretty(&doc) {
                Ok(s) => s + "\n",
                Err(e) => {
                    eprintln!("error: cannot write the report: {e}");
                    return Exit::Error;
                }
            }
        }
        CheckFormat::Text => {
            let mut out = format!(
                "{}: syntax ok ({statements} top-level statements)\n",
                path.display()
            );
            for w in &warnings {
                let _ = writeln!(out, "  {}: {} [{}]", w.location, w.message, w.code);
            }
            out
        }
    };
    emit(&out, Exit::Ok)
}

fn tables_of(model: &Model) -> Vec<TableReport> {
    model
        .tables()
        .iter()
        .map(|t| TableReport {
            name: t.name.to_string(),
            rows: t.len(),
            fields: t
                .fields()
                .filter_map(|f| model.field_name(f).map(ToString::to_string))
                .collect(),
            sql: t.sql().to_vec(),
        })
        .collect()
}

fn write_tables(out: &mut String, title: &str, tables: &[TableReport]) {
    let _ = writeln!(out, "\n{title}");
    if tables.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    let width = tables
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    let rows_width = tables
        .iter()
        .map(|t| t.rows.to_string().len())
        .max()
        .unwrap_or(0);
    for t in tables {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>rows_width$} rows  {}",
            t.name,
            t.rows,
            t.fields.join(", ")
        );
    }
}

fn text_report(r: &CheckReport) -> String {
    let mut out = format!("{}\n", r.script);
    if r.approximate {
        out.push_str(
            "approximate: unsupported statements were skipped; the model may differ from Qlik's\n",
        );
    }
    if !r.section_access {
        out.push_str("no section access: everyone who can open the app sees all of it\n");
    }
    write_tables(&mut out, "security tables", &r.security_tables);
    write_tables(&mut out, "tables", &r.tables);
    let _ = writeln!(
        out,
        "\nreduction fields: {}",
        if r.reduction_fields.is_empty() {
            String::from("(none)")
        } else {
            r.reduction_fields.join(", ")
        }
    );
    write_findings(&mut out, &r.findings);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_report_lists_tables_aligned() {
        let r = CheckReport {
            script: String::from("app.qvs"),
            approximate: true,
            section_access: false,
            security_tables: Vec::new(),
            tables: vec![
                TableReport {
                    name: String::from("Sales"),
                    rows: 120,
                    fields: vec![String::from("A"), String::from("B")],
                    sql: Vec::new(),
                },
                TableReport {
                    name: String::from("X"),
                    rows: 3,
                    fields: vec![String::from("A")],
                    sql: Vec::new(),
                },
            ],
            reduction_fields: Vec::new(),
            findings: Vec::new(),
        };
        let text = text_report(&r);
        assert!(text.contains("approximate:"));
        assert!(text.contains("no section access"));
        assert!(
            text.contains("  Sales  120 rows  A, B\n  X        3 rows  A\n"),
            "{text}"
        );
        assert!(text.contains("reduction fields: (none)"));
    }
}
