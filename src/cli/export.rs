//! `section-access export` and `section-access verify`: the rules enforced
//! by PostgreSQL row-level security, and the proof that the database gives
//! every identity what the audit gives.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use section_access::export::audit_sql::Engine;
use section_access::export::{self, IdentityMode};

use super::{EvalArgs, Exit, Format, ScriptArgs};

/// `export --target`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum Target {
    /// PostgreSQL 15 or later: tables, rules, row-level security, views
    /// (`load.sql`).
    #[default]
    Postgres,
    /// DuckDB: the tables and `audit.sql`, the audit of every identity as
    /// set-based SQL (`duckdb < audit.sql`).
    Duckdb,
    /// Spark SQL 3.5 or later: the tables and `audit.sql`, the audit of
    /// every identity as set-based SQL (`spark-sql -f audit.sql`).
    Spark,
}

/// `verify --target`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum VerifyTarget {
    /// PostgreSQL 15 or later.
    #[default]
    Postgres,
}

/// `--identity`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum IdentityArg {
    /// Session settings `section_access.userid`, `.email`, `.groups`
    /// (comma-separated, or a JSON array), set by a trusted tier.
    #[default]
    Settings,
    /// The role logged in as is the USERID; the roles it is a member of
    /// are its groups.
    CurrentUser,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    script: ScriptArgs,
    #[command(flatten)]
    eval: EvalArgs,
    /// Where the export goes.
    #[arg(long, value_enum, default_value_t)]
    target: Target,
    /// The folder to write `load.sql` and its data files into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The schema that will hold the tables, rules and policies
    /// (`postgres`) [default: section_access].
    #[arg(long, value_name = "NAME")]
    schema: Option<String>,
    /// Where the database takes the identity from (`postgres`) [default:
    /// settings].
    #[arg(long, value_enum)]
    identity: Option<IdentityArg>,
    /// More identities for `audit.sql` (`duckdb`, `spark`): a CSV with a
    /// header `userid,email,groups`.
    #[arg(long, value_name = "FILE.csv")]
    identities: Option<PathBuf>,
}

/// Runs `export`.
pub(super) fn run(args: &ExportArgs) -> Exit {
    // Options of one kind of target given for the other are refused before
    // the script loads.
    let engine = match args.target {
        Target::Postgres => None,
        Target::Duckdb => Some(Engine::DuckDb),
        Target::Spark => Some(Engine::Spark),
    };
    let misplaced = match engine {
        Some(_) if args.schema.is_some() => Some("--schema"),
        Some(_) if args.identity.is_some() => Some("--identity"),
        None if args.identities.is_some() => Some("--identities"),
        _ => None,
    };
    if let Some(flag) = misplaced {
        eprintln!(
            "error: {flag} does not apply to `--target {}`: --schema and --identity are for the PostgreSQL export (which serves any identity), --identities for the audit SQL of `--target duckdb` or `spark`",
            args.target
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_string())
        );
        return Exit::Usage;
    }
    let app = match args.script.load() {
        Ok(app) => app,
        Err(code) => return code,
    };
    let rules = args.eval.options(args.script.uppercase);
    if let Some(engine) = engine {
        return audit_sql(args, &app, &rules, engine);
    }
    let defaults = export::Options::default();
    let opts = export::Options {
        schema: args.schema.clone().unwrap_or(defaults.schema),
        identity: match args.identity {
            None => defaults.identity,
            Some(IdentityArg::Settings) => IdentityMode::Settings,
            Some(IdentityArg::CurrentUser) => IdentityMode::CurrentUser,
        },
    };
    let plan = match export::postgres(&app, &rules, &opts) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    if let Err(e) = plan.write(&args.out) {
        eprintln!(
            "error: cannot write the export into {}: {e}",
            args.out.display()
        );
        return Exit::Error;
    }
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    println!(
        "wrote {}: load it with `psql -v ON_ERROR_STOP=1 -f load.sql` from that folder",
        args.out.join("load.sql").display()
    );
    Exit::Ok
}

/// `export --target duckdb|spark`: `audit.sql` and the tables.
fn audit_sql(
    args: &ExportArgs,
    app: &section_access::load::App,
    rules: &section_access::access::Options,
    engine: Engine,
) -> Exit {
    let extra = match super::audit::extra_identities(args.identities.as_deref()) {
        Ok(ids) => ids,
        Err(code) => return code,
    };
    let export = match export::audit_sql::audit_sql(app, rules, &extra, engine, None) {
        Ok(export) => export,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    if let Err(e) = export.write(&args.out) {
        eprintln!(
            "error: cannot write the export into {}: {e}",
            args.out.display()
        );
        return Exit::Error;
    }
    for note in &export.notes {
        eprintln!("note: {note}");
    }
    let run = match engine {
        Engine::DuckDb => "`duckdb < audit.sql`",
        Engine::Spark => "`spark-sql -f audit.sql`",
    };
    println!(
        "wrote {}: run it with {run} from that folder",
        args.out.join("audit.sql").display()
    );
    Exit::Ok
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    #[command(flatten)]
    script: ScriptArgs,
    #[command(flatten)]
    eval: EvalArgs,
    /// The database to export into and query.
    #[arg(long, value_enum, default_value_t)]
    target: VerifyTarget,
    /// The schema to load into (must not exist); default
    /// `section_access_verify`, or the first free `section_access_verify_N`.
    #[arg(long, value_name = "NAME")]
    schema: Option<String>,
    /// More identities: a CSV with a header `userid,email,groups`.
    #[arg(long, value_name = "FILE.csv")]
    identities: Option<PathBuf>,
    /// Keep the schema afterwards (it is dropped by default).
    #[arg(long)]
    keep: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Runs `verify`: exit 0 when the database agrees on every identity, 4
/// when any differs.
pub(super) fn verify(args: &VerifyArgs) -> Exit {
    // The database is the bare `--connect URL` (`NAME=URL` ones are the
    // script's SQL sources).
    let Some(connect) = args.script.database().map(str::to_string) else {
        eprintln!(
            "error: verify needs the database: `--connect postgresql://USER:PASSWORD@HOST:PORT/DB` (or `--connect env:VAR`); the user must be able to create a schema and the role section_access_reader"
        );
        return Exit::Usage;
    };
    let app = match args.script.load_database_path(&args.script.script) {
        Ok(app) => app,
        Err(code) => return code,
    };
    let extra = match super::audit::extra_identities(args.identities.as_deref()) {
        Ok(ids) => ids,
        Err(code) => return code,
    };
    let url = match connect.strip_prefix("env:") {
        Some(var) => match std::env::var(var) {
            Ok(url) => url,
            Err(_) => {
                eprintln!(
                    "error: --connect env:{var}: the environment variable `{var}` is not set"
                );
                return Exit::Usage;
            }
        },
        None => connect,
    };
    let rules = args.eval.options(args.script.uppercase);
    let VerifyTarget::Postgres = args.target;
    match export::verify::verify(
        &app,
        &rules,
        &url,
        args.schema.as_deref(),
        &extra,
        args.keep,
    ) {
        Ok(v) => {
            match args.format {
                Format::Text => print!("{}", v.text()),
                Format::Json => match serde_json::to_string_pretty(&v) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("error: cannot write the verification as JSON: {e}");
                        return Exit::Error;
                    }
                },
            }
            if v.agrees() { Exit::Ok } else { Exit::Findings }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
    }
}
