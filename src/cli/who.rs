//! `section-access who`: which identities see rows with given values, or a
//! given row, each with the security rows that grant it; with `--denied`,
//! those that do not and why.

use std::path::PathBuf;

use clap::Args;

use section_access::audit::who::{Target, who};

use super::audit::load_and_audit;
use super::{EvalArgs, Exit, Format, ScriptArgs, emit};

/// Arguments of `who`.
#[derive(Debug, Args)]
pub(super) struct WhoArgs {
    #[command(flatten)]
    script: ScriptArgs,
    #[command(flatten)]
    eval: EvalArgs,
    /// Values a row must hold, all in one table: `REGION=NORTH`.
    #[arg(value_name = "FIELD=VALUE", value_parser = field_value)]
    values: Vec<(String, String)>,
    /// With `--row`: the table of the row.
    #[arg(
        long,
        value_name = "TABLE",
        requires = "row",
        conflicts_with = "values"
    )]
    table: Option<String>,
    /// With `--table`: the row, 1-based in load order (as `preview --out`
    /// writes them).
    #[arg(long, value_name = "N", requires = "table")]
    row: Option<usize>,
    /// Also list the identities that do not see it, with the reason.
    #[arg(long)]
    denied: bool,
    /// More identities: a CSV with a header `userid,email,groups`.
    #[arg(long, value_name = "FILE.csv")]
    identities: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// `FIELD=VALUE`, split at the first `=` (a value may hold more).
fn field_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((f, v)) if !f.trim().is_empty() => Ok((f.trim().to_string(), v.to_string())),
        _ => Err(format!("expected FIELD=VALUE, got `{s}`")),
    }
}

/// Runs `who`.
pub(super) fn run(args: &WhoArgs) -> Exit {
    let target = match (&args.table, args.row) {
        (Some(table), Some(row)) => Target::Row {
            table: table.clone(),
            row,
        },
        _ if args.values.is_empty() => {
            eprintln!("error: who needs FIELD=VALUE, or --table TABLE --row N");
            return Exit::Usage;
        }
        _ => Target::Values(args.values.clone()),
    };
    let (app, opts, audit) =
        match load_and_audit(&args.script, &args.eval, args.identities.as_deref()) {
            Ok(done) => done,
            Err(code) => return code,
        };
    let answer = match who(&app, &opts, &audit, &target, args.denied) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let text = match args.format {
        Format::Text => answer.text(),
        Format::Json => match serde_json::to_string_pretty(&answer) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: cannot write the answer: {e}");
                return Exit::Error;
            }
        },
    };
    super::leave(audit);
    super::leave(app);
    emit(&text, Exit::Ok)
}
