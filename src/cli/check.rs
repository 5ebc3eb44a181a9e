//! `section-access check`: parse and run a script, show what it loaded.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use section_access::load::{self, App};
use section_access::model::Model;
use section_access::script;
use section_access::script::source::SourceId;

use super::{Exit, Format, Output, ScriptArgs};

/// Parse and run a load script; print its sections, tables and security
/// tables, the reduction fields found, and warnings.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    script: ScriptArgs,
    /// Only parse: report syntax errors without reading any data source.
    #[arg(long)]
    syntax: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// A table as `check` reports it.
#[derive(Debug, Serialize)]
struct TableReport {
    name: String,
    rows: usize,
    fields: Vec<String>,
}

/// A warning with its place.
#[derive(Debug, Serialize)]
struct WarningReport {
    code: String,
    message: String,
    location: Option<String>,
}

/// The whole `check --format json` document.
#[derive(Debug, Serialize)]
struct CheckReport {
    script: String,
    approximate: bool,
    section_access: bool,
    security_tables: Vec<TableReport>,
    tables: Vec<TableReport>,
    reduction_fields: Vec<String>,
    unmatched_security_fields: Vec<String>,
    warnings: Vec<WarningReport>,
}

/// Runs `check`.
pub fn run(args: CheckArgs, out: &mut Output) -> Exit {
    if args.syntax {
        return syntax_only(&args, out);
    }
    let opts = args.script.load_options();
    let app = match load::run_file(&args.script.script, &opts) {
        Ok(app) => app,
        Err(e) => return out.diagnostic(e),
    };
    let report = report(&args, &app);
    match args.format {
        Format::Json => out.json(&report),
        Format::Text => out.text(|w| write_text(w, &report)),
    }
}

fn syntax_only(args: &CheckArgs, out: &mut Output) -> Exit {
    let path = &args.script.script;
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return out.io_error(path, &e),
    };
    let text = script::decode(&bytes);
    let parsed = match script::parse(SourceId(0), &text) {
        Ok(p) => p,
        Err(e) => return out.diagnostic(e.with_path(path)),
    };
    let warnings: Vec<WarningReport> = parsed
        .warnings
        .iter()
        .map(|w| WarningReport {
            code: w.code().to_string(),
            message: w.to_string(),
            location: Some(location_in(path, &text, w.span())),
        })
        .collect();
    let statements = parsed.script.body.len();
    match args.format {
        Format::Json => out.json(&serde_json::json!({
            "script": path.display().to_string(),
            "syntax": "ok",
            "statements": statements,
            "warnings": warnings,
        })),
        Format::Text => out.text(|w| {
            writeln!(
                w,
                "{}: syntax ok ({statements} top-level statements)",
                path.display()
            )?;
            for warning in &warnings {
                write_warning(w, warning)?;
            }
            Ok(())
        }),
    }
}

fn location_in(
    path: &std::path::Path,
    text: &str,
    span: section_access::script::source::Span,
) -> String {
    let mut map = section_access::script::source::SourceMap::default();
    let id = map.add(path.to_path_buf(), std::sync::Arc::from(text));
    let mut span = span;
    span.source = id;
    map.location(span).to_string()
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
        })
        .collect()
}

fn report(args: &CheckArgs, app: &App) -> CheckReport {
    let security = app.security(args.script.uppercase.into());
    let fields = section_access::access::reduction_fields(&security, &app.data);
    CheckReport {
        script: args.script.script.display().to_string(),
        approximate: app.approximate,
        section_access: app.has_section_access,
        security_tables: tables_of(&security),
        tables: tables_of(&app.data),
        reduction_fields: fields.matched.iter().map(ToString::to_string).collect(),
        unmatched_security_fields: fields.unmatched.iter().map(ToString::to_string).collect(),
        warnings: app
            .warnings
            .iter()
            .map(|w| WarningReport {
                code: w.code.to_string(),
                message: w.message.clone(),
                location: w.span.map(|s| app.sources.location(s).to_string()),
            })
            .collect(),
    }
}

fn write_tables(w: &mut dyn Write, title: &str, tables: &[TableReport]) -> std::io::Result<()> {
    writeln!(w, "{title}:")?;
    if tables.is_empty() {
        writeln!(w, "  (none)")?;
    }
    let width = tables.iter().map(|t| t.name.chars().count()).max().unwrap_or(0);
    let rows_width = tables
        .iter()
        .map(|t| t.rows.to_string().len())
        .max()
        .unwrap_or(0);
    for t in tables {
        writeln!(
            w,
            "  {:<width$}  {:>rows_width$} rows  {}",
            t.name,
            t.rows,
            t.fields.join(", ")
        )?;
    }
    Ok(())
}

fn write_warning(w: &mut dyn Write, warning: &WarningReport) -> std::io::Result<()> {
    match &warning.location {
        Some(loc) => writeln!(w, "  {loc}: {} [{}]", warning.message, warning.code),
        None => writeln!(w, "  {} [{}]", warning.message, warning.code),
    }
}

fn write_text(w: &mut dyn Write, r: &CheckReport) -> std::io::Result<()> {
    writeln!(w, "{}", r.script)?;
    if r.approximate {
        writeln!(
            w,
            "approximate: unsupported statements were skipped, the model may differ from Qlik's"
        )?;
    }
    if !r.section_access {
        writeln!(w, "no section access: every user who can open the app sees everything")?;
    }
    write_tables(w, "security tables", &r.security_tables)?;
    write_tables(w, "tables", &r.tables)?;
    if r.reduction_fields.is_empty() {
        writeln!(w, "reduction fields: (none)")?;
    } else {
        writeln!(w, "reduction fields: {}", r.reduction_fields.join(", "))?;
    }
    if !r.unmatched_security_fields.is_empty() {
        writeln!(
            w,
            "security fields naming no data field (they reduce nothing): {}",
            r.unmatched_security_fields.join(", ")
        )?;
    }
    if !r.warnings.is_empty() {
        writeln!(w, "warnings:")?;
        for warning in &r.warnings {
            write_warning(w, warning)?;
        }
    }
    Ok(())
}
